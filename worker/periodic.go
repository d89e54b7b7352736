package worker

// PeriodicTasks is what the scheduler enqueues. Later task types add entries here.
func PeriodicTasks() []Periodic { return nil }
