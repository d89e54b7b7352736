package deploy_test

// The deployment files — Kubernetes manifests, docker compose, the compose Prometheus and
// Grafana provisioning, the Dockerfile — parsed and held to what the binary does: the ports
// and probe paths it serves, the variables it reads, the shutdown it needs time for.

import (
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/parser"
	"github.com/stretchr/testify/require"
)

const (
	k8sDir             = "k8s"
	kustomizationFile  = "k8s/kustomization.yaml"
	composeFile        = "compose/docker-compose.yml"
	composePromFile    = "compose/prometheus.yml"
	grafanaProvDir     = "compose/grafana/provisioning"
	dockerfile         = "docker/Dockerfile"
	dockerignore       = "../.dockerignore"
	configSource       = "../internal/config/config.go"
	apiRoutesSource    = "../api/router.go"
	metricsMuxSource   = "../cmd/reconlayer/serve.go"
	buildinfoSource    = "../internal/buildinfo/buildinfo.go"
	goMod              = "../go.mod"
	minGracePeriod     = 45 * time.Second
	defaultShutdownEnv = "RECONLAYER_SHUTDOWN_TIMEOUT"
)

// probes says, per subcommand, which listener (the variable holding its address) the probes
// use and which paths: the api's /ready checks Postgres and Redis; the worker and scheduler
// listener serves /metrics and /health only.
var probes = map[string]struct{ addrVar, readiness, liveness string }{
	"api":       {"RECONLAYER_HTTP_ADDR", "/ready", "/health"},
	"worker":    {"RECONLAYER_METRICS_ADDR", "/health", "/health"},
	"scheduler": {"RECONLAYER_METRICS_ADDR", "/health", "/health"},
}

// yamlDocs parses every document of a YAML file. Each must be non-empty: a stray `---`
// is a mistake (and would make some tools apply nothing).
func yamlDocs(t *testing.T, file string) []any {
	t.Helper()
	raw, err := os.ReadFile(file)
	require.NoError(t, err)
	f, err := parser.ParseBytes(raw, 0)
	require.NoError(t, err, "%s is not YAML", file)
	var docs []any
	for i, d := range f.Docs {
		require.NotNil(t, d.Body, "%s: document %d is empty", file, i+1)
		var v any
		require.NoError(t, yaml.NodeToValue(d.Body, &v), "%s: document %d", file, i+1)
		docs = append(docs, v)
	}
	require.NotEmpty(t, docs, "%s holds no YAML document", file)
	return docs
}

// as converts a decoded YAML value into T through JSON, so the types below need only the
// json tags of the Kubernetes and compose field names.
func as[T any](t *testing.T, v any, what string) T {
	t.Helper()
	raw, err := json.Marshal(v)
	require.NoError(t, err, what)
	var out T
	require.NoError(t, json.Unmarshal(raw, &out), "%s does not have the expected shape", what)
	return out
}

// yamlFiles lists the YAML files under dir, recursively.
func yamlFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ext := filepath.Ext(p); !d.IsDir() && (ext == ".yml" || ext == ".yaml") {
			files = append(files, p)
		}
		return nil
	})
	require.NoError(t, err)
	require.NotEmpty(t, files, "no YAML under %s", dir)
	return files
}

func readText(t *testing.T, file string) string {
	t.Helper()
	raw, err := os.ReadFile(file)
	require.NoError(t, err)
	return string(raw)
}

// TestYAMLParses parses every YAML document under deploy/: the manifests, compose, its
// provisioning, and the Prometheus files.
func TestYAMLParses(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"k8s", "compose", "prometheus"} {
		for _, f := range yamlFiles(t, dir) {
			yamlDocs(t, f)
		}
	}
}

// --------------------------------------------------------------------------- Kubernetes

type object struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace"`
		Labels    map[string]string `json:"labels"`
	} `json:"metadata"`
	Data       map[string]string `json:"data"`
	StringData map[string]string `json:"stringData"`
	Spec       json.RawMessage   `json:"spec"`

	file string
}

type labelSelector struct {
	MatchLabels map[string]string `json:"matchLabels"`
}

// selects reports whether the selector picks pods labelled labels.
func (s labelSelector) selects(labels map[string]string) bool {
	if len(s.MatchLabels) == 0 {
		return false
	}
	for k, v := range s.MatchLabels {
		if labels[k] != v {
			return false
		}
	}
	return true
}

type workloadSpec struct {
	Replicas *int          `json:"replicas"`
	Selector labelSelector `json:"selector"`
	Strategy struct {
		Type string `json:"type"`
	} `json:"strategy"`
	Template struct {
		Metadata struct {
			Labels map[string]string `json:"labels"`
		} `json:"metadata"`
		Spec podSpec `json:"spec"`
	} `json:"template"`
}

type podSpec struct {
	TerminationGracePeriodSeconds *int   `json:"terminationGracePeriodSeconds"`
	RestartPolicy                 string `json:"restartPolicy"`
	SecurityContext               struct {
		RunAsNonRoot *bool  `json:"runAsNonRoot"`
		RunAsUser    *int64 `json:"runAsUser"`
	} `json:"securityContext"`
	Containers []container `json:"containers"`
	Volumes    []named     `json:"volumes"`
}

type named struct {
	Name string `json:"name"`
}

type keyRef struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

type container struct {
	Name  string   `json:"name"`
	Image string   `json:"image"`
	Args  []string `json:"args"`
	Ports []struct {
		Name          string `json:"name"`
		ContainerPort int    `json:"containerPort"`
	} `json:"ports"`
	Env []struct {
		Name      string `json:"name"`
		ValueFrom *struct {
			SecretKeyRef    *keyRef `json:"secretKeyRef"`
			ConfigMapKeyRef *keyRef `json:"configMapKeyRef"`
		} `json:"valueFrom"`
	} `json:"env"`
	EnvFrom []struct {
		ConfigMapRef *keyRef `json:"configMapRef"`
		SecretRef    *keyRef `json:"secretRef"`
	} `json:"envFrom"`
	ReadinessProbe *probe `json:"readinessProbe"`
	LivenessProbe  *probe `json:"livenessProbe"`
	Resources      struct {
		Requests map[string]any `json:"requests"`
		Limits   map[string]any `json:"limits"`
	} `json:"resources"`
	SecurityContext struct {
		RunAsNonRoot             *bool `json:"runAsNonRoot"`
		ReadOnlyRootFilesystem   *bool `json:"readOnlyRootFilesystem"`
		AllowPrivilegeEscalation *bool `json:"allowPrivilegeEscalation"`
		Capabilities             struct {
			Drop []string `json:"drop"`
		} `json:"capabilities"`
	} `json:"securityContext"`
	VolumeMounts []named `json:"volumeMounts"`
}

type probe struct {
	HTTPGet *struct {
		Path string `json:"path"`
		Port any    `json:"port"`
	} `json:"httpGet"`
}

// port resolves a probe's or a Service's port (a number or a port name) to a number.
func (c container) port(p any) (int, bool) {
	switch p := p.(type) {
	case float64:
		for _, cp := range c.Ports {
			if cp.ContainerPort == int(p) {
				return cp.ContainerPort, true
			}
		}
	case string:
		for _, cp := range c.Ports {
			if cp.Name == p {
				return cp.ContainerPort, true
			}
		}
	}
	return 0, false
}

// subcommand is the reconlayer subcommand a container runs (its first argument).
func (c container) subcommand() string {
	if len(c.Args) == 0 {
		return ""
	}
	return c.Args[0]
}

type kustomization struct {
	Resources []string `json:"resources"`
	Images    []struct {
		Name string `json:"name"`
	} `json:"images"`
}

// cluster is every object under deploy/k8s, and which of them kustomization.yaml applies.
type cluster struct {
	all     []object
	applied []object
	kust    kustomization
}

func (c cluster) find(kind, name string) (object, bool) {
	for _, o := range c.all {
		if o.Kind == kind && o.Metadata.Name == name {
			return o, true
		}
	}
	return object{}, false
}

func (c cluster) kind(kind string, appliedOnly bool) []object {
	from := c.all
	if appliedOnly {
		from = c.applied
	}
	var out []object
	for _, o := range from {
		if o.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

func loadCluster(t *testing.T) cluster {
	t.Helper()
	var c cluster
	docs := yamlDocs(t, kustomizationFile)
	require.Len(t, docs, 1)
	c.kust = as[kustomization](t, docs[0], kustomizationFile)
	for _, f := range yamlFiles(t, k8sDir) {
		base := filepath.Base(f)
		for i, d := range yamlDocs(t, f) {
			o := as[object](t, d, fmt.Sprintf("%s document %d", f, i+1))
			o.file = f
			c.all = append(c.all, o)
			if slices.Contains(c.kust.Resources, base) {
				c.applied = append(c.applied, o)
			}
		}
	}
	return c
}

func spec[T any](t *testing.T, o object) T {
	t.Helper()
	var s T
	require.NoError(t, json.Unmarshal(o.Spec, &s), "%s %s (%s): spec", o.Kind, o.Metadata.Name, o.file)
	return s
}

// config is the reconlayer-config ConfigMap every process reads its settings from.
func config(t *testing.T, c cluster) map[string]string {
	t.Helper()
	cm, ok := c.find("ConfigMap", "reconlayer-config")
	require.True(t, ok, "no reconlayer-config ConfigMap")
	return cm.Data
}

func addrPort(t *testing.T, addr, what string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	require.NoError(t, err, "%s = %q", what, addr)
	n, err := strconv.Atoi(p)
	require.NoError(t, err, "%s = %q", what, addr)
	return n
}

func TestK8sObjects(t *testing.T) {
	t.Parallel()
	c := loadCluster(t)

	for _, o := range c.all {
		where := fmt.Sprintf("%s document of kind %q", o.file, o.Kind)
		require.NotEmpty(t, o.APIVersion, "%s has no apiVersion", where)
		require.NotEmpty(t, o.Kind, "%s has no kind", o.file)
		require.NotEmpty(t, o.Metadata.Name, "%s has no metadata.name", where)
		require.Empty(t, o.Metadata.Namespace, "%s names a namespace; the manifests are namespace-agnostic", where)
	}

	// Everything is applied by kustomization.yaml except what is marked as a template
	// (filled in by hand) or optional (needs something else installed).
	entries, err := os.ReadDir(k8sDir)
	require.NoError(t, err)
	var files []string
	for _, e := range entries {
		if n := e.Name(); strings.HasSuffix(n, ".yaml") && n != "kustomization.yaml" {
			files = append(files, n)
		}
	}
	for _, r := range c.kust.Resources {
		require.Contains(t, files, r, "kustomization.yaml lists %s, which does not exist", r)
	}
	for _, f := range files {
		optional := strings.HasSuffix(f, ".template.yaml") || strings.HasSuffix(f, ".optional.yaml")
		require.Equal(t, !optional, slices.Contains(c.kust.Resources, f),
			"%s: kustomization.yaml must list every manifest but *.template.yaml and *.optional.yaml", f)
	}

	// The Secret is a template: its values are placeholders, and the session secret is short
	// enough for the processes to refuse it if it is ever applied as is.
	secret, ok := c.find("Secret", "reconlayer")
	require.True(t, ok, "no reconlayer Secret template")
	require.ElementsMatch(t, []string{"database-url", "redis-url", "session-secret"}, slices.Collect(maps.Keys(secret.StringData)))
	for k, v := range secret.StringData {
		require.Contains(t, v, "REPLACE-ME", "secret.template.yaml %s must be a placeholder", k)
	}
	require.Less(t, len(secret.StringData["session-secret"]), 32)
	require.Empty(t, c.kind("Secret", true), "a Secret applied by kustomization would overwrite the real one on every apply")

	// Every container runs the image kustomization.yaml rewrites to the real registry.
	var images []string
	for _, im := range c.kust.Images {
		images = append(images, im.Name)
	}
	for _, kind := range []string{"Deployment", "Job"} {
		for _, o := range c.kind(kind, false) {
			for _, ctr := range spec[workloadSpec](t, o).Template.Spec.Containers {
				require.Contains(t, images, ctr.Image, "%s %s: container %s", kind, o.Metadata.Name, ctr.Name)
			}
		}
	}
}

// checkPod holds a pod of a reconlayer process to the securityContext, resources and
// references every one of them needs.
func checkPod(t *testing.T, c cluster, what string, pod podSpec) {
	t.Helper()
	require.NotEmpty(t, pod.Containers, what)
	for _, ctr := range pod.Containers {
		where := what + ": container " + ctr.Name
		nonRoot := pod.SecurityContext.RunAsNonRoot
		if ctr.SecurityContext.RunAsNonRoot != nil {
			nonRoot = ctr.SecurityContext.RunAsNonRoot
		}
		require.NotNil(t, nonRoot, "%s: runAsNonRoot is not set", where)
		require.True(t, *nonRoot, "%s: runAsNonRoot", where)
		if u := pod.SecurityContext.RunAsUser; u != nil {
			require.NotZero(t, *u, "%s: runAsUser 0 is root", where)
		}
		require.NotNil(t, ctr.SecurityContext.ReadOnlyRootFilesystem, "%s: readOnlyRootFilesystem", where)
		require.True(t, *ctr.SecurityContext.ReadOnlyRootFilesystem, "%s: readOnlyRootFilesystem", where)
		require.NotNil(t, ctr.SecurityContext.AllowPrivilegeEscalation, "%s: allowPrivilegeEscalation", where)
		require.False(t, *ctr.SecurityContext.AllowPrivilegeEscalation, "%s: allowPrivilegeEscalation", where)
		require.Contains(t, ctr.SecurityContext.Capabilities.Drop, "ALL", "%s: capabilities", where)
		for _, r := range []string{"cpu", "memory"} {
			require.Contains(t, ctr.Resources.Requests, r, "%s: resources.requests", where)
			require.Contains(t, ctr.Resources.Limits, r, "%s: resources.limits", where)
		}
		for _, vm := range ctr.VolumeMounts {
			require.Contains(t, pod.Volumes, vm, "%s mounts a volume the pod does not have", where)
		}

		// The Secret and ConfigMaps it reads exist, with the keys it reads.
		secret, ok := c.find("Secret", "reconlayer")
		require.True(t, ok)
		names := map[string]bool{}
		for _, e := range ctr.Env {
			names[e.Name] = true
			if e.ValueFrom == nil {
				continue
			}
			if r := e.ValueFrom.SecretKeyRef; r != nil {
				require.Equal(t, "reconlayer", r.Name, "%s: %s", where, e.Name)
				require.Contains(t, secret.StringData, r.Key, "%s: %s reads a key the Secret template lacks", where, e.Name)
			}
			if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
				cm, ok := c.find("ConfigMap", r.Name)
				require.True(t, ok, "%s: %s reads ConfigMap %s", where, e.Name, r.Name)
				require.Contains(t, cm.Data, r.Key, "%s: %s", where, e.Name)
			}
		}
		for _, ef := range ctr.EnvFrom {
			require.Nil(t, ef.SecretRef, "%s: name the Secret's keys one by one (env), they are not variable names", where)
			require.NotNil(t, ef.ConfigMapRef, where)
			applied := slices.ContainsFunc(c.kind("ConfigMap", true), func(o object) bool { return o.Metadata.Name == ef.ConfigMapRef.Name })
			require.True(t, applied, "%s: envFrom ConfigMap %s is not applied by kustomization.yaml", where, ef.ConfigMapRef.Name)
		}
		require.True(t, names["DATABASE_URL"], "%s has no DATABASE_URL", where)
	}
}

// served lists the paths a process answers GET on: the api's gin routes, and the plain
// mux of the worker and scheduler metrics listener.
func served(t *testing.T) map[string][]string {
	t.Helper()
	paths := func(file, pattern string) []string {
		var out []string
		for _, m := range regexp.MustCompile(pattern).FindAllStringSubmatch(readText(t, file), -1) {
			out = append(out, m[1])
		}
		require.NotEmpty(t, out, "found no routes in %s (did they move?)", file)
		return out
	}
	return map[string][]string{
		"RECONLAYER_HTTP_ADDR":    paths(apiRoutesSource, `\.GET\("(/[a-z]+)"`),
		"RECONLAYER_METRICS_ADDR": paths(metricsMuxSource, `"GET (/[a-z]+)"`),
	}
}

func TestK8sWorkloads(t *testing.T) {
	t.Parallel()
	c := loadCluster(t)
	cfg := config(t, c)
	servedPaths := served(t)

	shutdown, err := time.ParseDuration(cfg[defaultShutdownEnv])
	require.NoError(t, err, "reconlayer-config %s", defaultShutdownEnv)

	perCommand := map[string][]object{}
	for _, o := range c.kind("Deployment", true) {
		s := spec[workloadSpec](t, o)
		what := "Deployment " + o.Metadata.Name
		require.True(t, s.Selector.selects(s.Template.Metadata.Labels), "%s: its selector does not select its own pods", what)
		require.NotNil(t, s.Replicas, "%s: replicas", what)
		pod := s.Template.Spec
		checkPod(t, c, what, pod)

		require.NotNil(t, pod.TerminationGracePeriodSeconds, "%s: terminationGracePeriodSeconds", what)
		grace := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
		require.GreaterOrEqual(t, grace, minGracePeriod, what)
		require.Greater(t, grace, shutdown, "%s: the kubelet would kill the process while it drains", what)

		require.Len(t, pod.Containers, 1, what)
		ctr := pod.Containers[0]
		cmd := ctr.subcommand()
		want, ok := probes[cmd]
		require.True(t, ok, "%s runs `reconlayer %s`; expected api, worker or scheduler", what, cmd)
		perCommand[cmd] = append(perCommand[cmd], o)

		port := addrPort(t, cfg[want.addrVar], want.addrVar)
		for _, p := range []struct {
			kind, path string
			probe      *probe
		}{{"readiness", want.readiness, ctr.ReadinessProbe}, {"liveness", want.liveness, ctr.LivenessProbe}} {
			require.NotNil(t, p.probe, "%s: no %s probe", what, p.kind)
			require.NotNil(t, p.probe.HTTPGet, "%s: %s probe is not httpGet", what, p.kind)
			require.Equal(t, p.path, p.probe.HTTPGet.Path, "%s: %s probe path", what, p.kind)
			require.Contains(t, servedPaths[want.addrVar], p.path, "%s: %s probe path is not served on %s", what, p.kind, want.addrVar)
			got, ok := ctr.port(p.probe.HTTPGet.Port)
			require.True(t, ok, "%s: %s probe port %v is not a container port", what, p.kind, p.probe.HTTPGet.Port)
			require.Equal(t, port, got, "%s: %s probe port (%s is %s)", what, p.kind, want.addrVar, cfg[want.addrVar])
		}

		switch cmd {
		case "scheduler":
			require.Equal(t, 1, *s.Replicas, "%s: exactly one scheduler", what)
			require.Equal(t, "Recreate", s.Strategy.Type, "%s: a rolling update would run two schedulers", what)
		default:
			require.GreaterOrEqual(t, *s.Replicas, 2, what)
		}
	}
	for cmd := range probes {
		require.Len(t, perCommand[cmd], 1, "one Deployment runs `reconlayer %s`", cmd)
	}

	jobs := c.kind("Job", true)
	require.Len(t, jobs, 1, "one migrate Job")
	s := spec[workloadSpec](t, jobs[0])
	checkPod(t, c, "Job "+jobs[0].Metadata.Name, s.Template.Spec)
	require.Equal(t, []string{"migrate", "up"}, s.Template.Spec.Containers[0].Args)
	require.Contains(t, []string{"Never", "OnFailure"}, s.Template.Spec.RestartPolicy)
}

type hpaSpec struct {
	ScaleTargetRef struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Name       string `json:"name"`
	} `json:"scaleTargetRef"`
	MinReplicas *int `json:"minReplicas"`
	MaxReplicas int  `json:"maxReplicas"`
	Metrics     []struct {
		Type     string `json:"type"`
		Resource *struct {
			Name   string `json:"name"`
			Target struct {
				Type               string `json:"type"`
				AverageUtilization int    `json:"averageUtilization"`
			} `json:"target"`
		} `json:"resource"`
	} `json:"metrics"`
}

// deploymentRunning returns the Deployment whose pods run `reconlayer cmd`.
func deploymentRunning(t *testing.T, c cluster, cmd string) (object, workloadSpec) {
	t.Helper()
	for _, o := range c.kind("Deployment", true) {
		s := spec[workloadSpec](t, o)
		if len(s.Template.Spec.Containers) > 0 && s.Template.Spec.Containers[0].subcommand() == cmd {
			return o, s
		}
	}
	t.Fatalf("no Deployment runs `reconlayer %s`", cmd)
	return object{}, workloadSpec{}
}

func TestK8sScaling(t *testing.T) {
	t.Parallel()
	c := loadCluster(t)
	api, apiSpec := deploymentRunning(t, c, "api")
	worker, workerSpec := deploymentRunning(t, c, "worker")
	scheduler, _ := deploymentRunning(t, c, "scheduler")

	hpas := c.kind("HorizontalPodAutoscaler", true)
	require.Len(t, hpas, 1)
	require.Equal(t, "autoscaling/v2", hpas[0].APIVersion)
	h := spec[hpaSpec](t, hpas[0])
	require.Equal(t, "Deployment", h.ScaleTargetRef.Kind)
	require.Equal(t, "apps/v1", h.ScaleTargetRef.APIVersion)
	require.Equal(t, api.Metadata.Name, h.ScaleTargetRef.Name, "the HPA scales the api")
	require.NotNil(t, h.MinReplicas)
	require.GreaterOrEqual(t, *h.MinReplicas, 2)
	require.Greater(t, h.MaxReplicas, *h.MinReplicas)
	require.Len(t, h.Metrics, 1)
	require.NotNil(t, h.Metrics[0].Resource)
	require.Equal(t, "cpu", h.Metrics[0].Resource.Name)
	require.Equal(t, "Utilization", h.Metrics[0].Resource.Target.Type)
	require.Equal(t, 70, h.Metrics[0].Resource.Target.AverageUtilization)
	require.Contains(t, apiSpec.Template.Spec.Containers[0].Resources.Requests, "cpu", "CPU utilization is relative to the request")

	// A PDB selects the pods of one Deployment and lets at least one of them go: a
	// minAvailable equal to the replicas would block every node drain.
	pdbs := c.kind("PodDisruptionBudget", true)
	covered := map[string]bool{}
	for _, o := range pdbs {
		s := spec[struct {
			MinAvailable any           `json:"minAvailable"`
			Selector     labelSelector `json:"selector"`
		}](t, o)
		var targets []string
		var replicas int
		for _, d := range c.kind("Deployment", true) {
			ds := spec[workloadSpec](t, d)
			if s.Selector.selects(ds.Template.Metadata.Labels) {
				targets = append(targets, d.Metadata.Name)
				replicas = *ds.Replicas
			}
		}
		require.Len(t, targets, 1, "PodDisruptionBudget %s must select the pods of exactly one Deployment", o.Metadata.Name)
		minAvailable, ok := s.MinAvailable.(float64)
		require.True(t, ok, "PodDisruptionBudget %s: minAvailable as a number", o.Metadata.Name)
		require.Equal(t, 1.0, minAvailable, "PodDisruptionBudget %s", o.Metadata.Name)
		require.Less(t, int(minAvailable), replicas, "PodDisruptionBudget %s would block drains", o.Metadata.Name)
		covered[targets[0]] = true
	}
	require.Equal(t, map[string]bool{api.Metadata.Name: true, worker.Metadata.Name: true}, covered,
		"PodDisruptionBudgets cover the api and the workers (not the single scheduler)")

	// Services select pods that exist, on ports those pods have.
	services := c.kind("Service", true)
	require.NotEmpty(t, services)
	for _, o := range services {
		s := spec[struct {
			Selector map[string]string `json:"selector"`
			Ports    []struct {
				Port       int `json:"port"`
				TargetPort any `json:"targetPort"`
			} `json:"ports"`
		}](t, o)
		sel := labelSelector{MatchLabels: s.Selector}
		var pods []workloadSpec
		for _, d := range c.kind("Deployment", true) {
			if ds := spec[workloadSpec](t, d); sel.selects(ds.Template.Metadata.Labels) {
				pods = append(pods, ds)
			}
		}
		require.NotEmpty(t, pods, "Service %s selects no pods", o.Metadata.Name)
		for _, p := range s.Ports {
			target := p.TargetPort
			if target == nil {
				target = float64(p.Port)
			}
			for _, ds := range pods {
				_, ok := ds.Template.Spec.Containers[0].port(target)
				require.True(t, ok, "Service %s: targetPort %v is not a port of the pods it selects", o.Metadata.Name, target)
			}
		}
	}

	// The optional KEDA ScaledObject scales the workers on the queue metrics, and nothing
	// scales the scheduler.
	scaled, ok := c.find("ScaledObject", worker.Metadata.Name)
	require.True(t, ok, "keda-scaledobject.optional.yaml")
	so := spec[struct {
		ScaleTargetRef struct {
			Name string `json:"name"`
		} `json:"scaleTargetRef"`
		MinReplicaCount int `json:"minReplicaCount"`
		Triggers        []struct {
			Type     string            `json:"type"`
			Metadata map[string]string `json:"metadata"`
		} `json:"triggers"`
	}](t, scaled)
	require.Equal(t, worker.Metadata.Name, so.ScaleTargetRef.Name)
	require.NotEqual(t, scheduler.Metadata.Name, so.ScaleTargetRef.Name)
	require.GreaterOrEqual(t, so.MinReplicaCount, *workerSpec.Replicas)
	var queries []string
	name := regexp.MustCompile(`reconlayer_[a-z0-9_]+`)
	for _, tr := range so.Triggers {
		require.Equal(t, "prometheus", tr.Type)
		q := tr.Metadata["query"]
		queries = append(queries, q)
		for _, n := range name.FindAllString(q, -1) {
			require.True(t, known(n), "the ScaledObject queries %s, which no process exposes", n)
		}
	}
	require.True(t, slices.ContainsFunc(queries, func(q string) bool { return strings.Contains(q, "reconlayer_queue_latency_seconds") }))

	redis, ok := c.find("ConfigMap", "reconlayer-redis")
	require.True(t, ok, "redis-config.optional.yaml")
	require.Regexp(t, `(?m)^maxmemory-policy noeviction$`, redis.Data["redis.conf"])
	require.Regexp(t, `(?m)^appendonly yes$`, redis.Data["redis.conf"])
}

// ------------------------------------------------------------------------------ compose

type composeService struct {
	Image string `json:"image"`
	Build *struct {
		Context    string `json:"context"`
		Dockerfile string `json:"dockerfile"`
	} `json:"build"`
	Command     []string          `json:"command"`
	Environment map[string]string `json:"environment"`
	DependsOn   json.RawMessage   `json:"depends_on"`
	Deploy      *struct {
		Replicas *int `json:"replicas"`
	} `json:"deploy"`
	Ports           []string `json:"ports"`
	Volumes         []string `json:"volumes"`
	StopGracePeriod string   `json:"stop_grace_period"`
	Restart         string   `json:"restart"`
	Healthcheck     *struct {
		Test []string `json:"test"`
	} `json:"healthcheck"`
}

// dependsOn returns each dependency with its condition (the short list form means
// service_started).
func (s composeService) dependsOn(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	if len(s.DependsOn) == 0 {
		return out
	}
	var list []string
	if json.Unmarshal(s.DependsOn, &list) == nil {
		for _, n := range list {
			out[n] = "service_started"
		}
		return out
	}
	var long map[string]struct {
		Condition string `json:"condition"`
	}
	require.NoError(t, json.Unmarshal(s.DependsOn, &long))
	for n, d := range long {
		out[n] = d.Condition
	}
	return out
}

// mounts returns the bind mounts (host path relative to deploy/, container path).
func (s composeService) mounts() map[string]string {
	out := map[string]string{}
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || !strings.HasPrefix(parts[0], ".") {
			continue // a named volume
		}
		out[filepath.Join(filepath.Dir(composeFile), parts[0])] = parts[1]
	}
	return out
}

func loadCompose(t *testing.T) map[string]composeService {
	t.Helper()
	docs := yamlDocs(t, composeFile)
	require.Len(t, docs, 1)
	f := as[struct {
		Services map[string]composeService `json:"services"`
	}](t, docs[0], composeFile)
	require.NotEmpty(t, f.Services)
	return f.Services
}

// reconlayerServices returns the compose services built from the Dockerfile, by the
// subcommand they run.
func reconlayerServices(t *testing.T, services map[string]composeService) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for name, s := range services {
		if s.Build == nil {
			continue
		}
		require.NotEmpty(t, s.Command, "service %s", name)
		out[s.Command[0]] = append(out[s.Command[0]], name)
	}
	for _, names := range out {
		slices.Sort(names)
	}
	return out
}

func TestCompose(t *testing.T) {
	t.Parallel()
	services := loadCompose(t)

	pg := services["postgres"]
	require.Equal(t, "postgres:15", pg.Image)
	require.NotNil(t, pg.Healthcheck, "postgres needs a healthcheck for service_healthy")
	redis := services["redis"]
	require.Equal(t, "redis:7", redis.Image)
	require.NotNil(t, redis.Healthcheck, "redis needs a healthcheck for service_healthy")
	cmd := strings.Join(redis.Command, " ")
	require.Contains(t, cmd, "--maxmemory-policy noeviction", "Redis is a queue: it must never evict")
	require.Contains(t, cmd, "--appendonly yes")

	byCmd := reconlayerServices(t, services)
	require.Equal(t, []string{"migrate"}, byCmd["migrate"])
	require.Equal(t, []string{"migrate", "up"}, services["migrate"].Command)
	require.Equal(t, "no", services["migrate"].Restart, "migrate runs once")
	require.Equal(t, "service_healthy", services["migrate"].dependsOn(t)["postgres"])
	require.Len(t, byCmd["api"], 2, "two api services")
	require.Len(t, byCmd["worker"], 1)
	require.Len(t, byCmd["scheduler"], 1)
	w := services[byCmd["worker"][0]]
	require.NotNil(t, w.Deploy, "the worker service sets deploy.replicas")
	require.NotNil(t, w.Deploy.Replicas)
	require.Equal(t, 2, *w.Deploy.Replicas)
	require.Empty(t, w.Ports, "a published port would stop `--scale worker=N`")
	if d := services[byCmd["scheduler"][0]].Deploy; d != nil && d.Replicas != nil {
		require.Equal(t, 1, *d.Replicas, "exactly one scheduler")
	}

	image := ""
	for command, names := range byCmd {
		for _, name := range names {
			s := services[name]
			what := "service " + name
			if image == "" {
				image = s.Image
			}
			require.Equal(t, image, s.Image, "%s: every reconlayer service runs the same image", what)
			// Paths here are relative to deploy/, where the test runs: the repo root is "..".
			context := filepath.Join(filepath.Dir(composeFile), s.Build.Context)
			require.Equal(t, "..", context, "%s: the build context is the repo root", what)
			require.Equal(t, filepath.Join("..", "deploy", dockerfile), filepath.Join(context, s.Build.Dockerfile), what)

			env := s.Environment
			db, err := url.Parse(env["DATABASE_URL"])
			require.NoError(t, err, what)
			require.Contains(t, services, db.Hostname(), "%s: DATABASE_URL names no service", what)
			rd, err := url.Parse(env["REDIS_URL"])
			require.NoError(t, err, what)
			require.Contains(t, services, rd.Hostname(), "%s: REDIS_URL names no service", what)
			secret := env["RECONLAYER_SESSION_SECRET"]
			require.GreaterOrEqual(t, len(secret), 32, "%s: the processes refuse a shorter session secret", what)
			require.Contains(t, secret, "dev-only", "%s: mark the session secret as a development value", what)

			if command == "migrate" {
				continue
			}
			deps := s.dependsOn(t)
			require.Equal(t, "service_completed_successfully", deps["migrate"], "%s starts after migrate", what)
			require.Equal(t, "service_healthy", deps["postgres"], what)
			require.Equal(t, "service_healthy", deps["redis"], what)
			grace, err := time.ParseDuration(s.StopGracePeriod)
			require.NoError(t, err, "%s: stop_grace_period (compose's default 10 s cuts the drain short)", what)
			shutdown, err := time.ParseDuration(env[defaultShutdownEnv])
			require.NoError(t, err, "%s: %s", what, defaultShutdownEnv)
			require.GreaterOrEqual(t, grace, minGracePeriod, what)
			require.Greater(t, grace, shutdown, what)
		}
	}

	// Bind mounts point at files and folders that exist.
	for name, s := range services {
		for host := range s.mounts() {
			_, err := os.Stat(host)
			require.NoError(t, err, "service %s mounts %s", name, host)
		}
	}
}

// TestComposePrometheus: the compose Prometheus scrapes every reconlayer service on the port
// it listens on, and loads the real alert rules.
func TestComposePrometheus(t *testing.T) {
	t.Parallel()
	services := loadCompose(t)
	prom, ok := services["prometheus"]
	require.True(t, ok)
	mounts := prom.mounts()
	require.Equal(t, "/etc/prometheus/prometheus.yml", mounts[composePromFile])
	alertsAt, ok := mounts[alertsFile]
	require.True(t, ok, "prometheus mounts %s", alertsFile)

	docs := yamlDocs(t, composePromFile)
	require.Len(t, docs, 1)
	cfg := as[struct {
		RuleFiles     []string `json:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `json:"job_name"`
			StaticConfigs []struct {
				Targets []string `json:"targets"`
			} `json:"static_configs"`
			DNSSDConfigs []struct {
				Names []string `json:"names"`
				Type  string   `json:"type"`
				Port  int      `json:"port"`
			} `json:"dns_sd_configs"`
		} `json:"scrape_configs"`
	}](t, docs[0], composePromFile)
	// rule_files are relative to the config file.
	var rules []string
	for _, r := range cfg.RuleFiles {
		rules = append(rules, path.Join("/etc/prometheus", r))
	}
	require.Equal(t, []string{alertsAt}, rules)

	scraped := map[string]int{}
	for _, sc := range cfg.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				host, port, err := net.SplitHostPort(target)
				require.NoError(t, err)
				scraped[host], _ = strconv.Atoi(port)
			}
		}
		for _, d := range sc.DNSSDConfigs {
			require.Equal(t, "A", d.Type)
			for _, n := range d.Names {
				scraped[n] = d.Port
			}
		}
	}
	for command, names := range reconlayerServices(t, services) {
		if command == "migrate" {
			continue
		}
		addrVar := probes[command].addrVar
		for _, name := range names {
			want := addrPort(t, services[name].Environment[addrVar], name+" "+addrVar)
			require.Equal(t, want, scraped[name], "Prometheus scrapes service %s on its %s", name, addrVar)
		}
	}
	for host := range scraped {
		require.Contains(t, services, host, "Prometheus scrapes %s, which is no compose service", host)
	}

	t.Run("promtool", func(t *testing.T) {
		t.Parallel()
		promtool(t)
		dir := t.TempDir()
		for file, at := range map[string]string{composePromFile: "prometheus.yml", alertsFile: path.Base(alertsAt)} {
			raw, err := os.ReadFile(file)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, at), raw, 0o600))
		}
		runPromtool(t, "check", "config", filepath.Join(dir, "prometheus.yml"))
	})
}

// TestComposeGrafana: the provisioned datasource is the compose Prometheus, set as the
// default so that the dashboard's DS_PROMETHEUS variable resolves to it, and the dashboard
// provider reads the folder where deploy/grafana/reconlayer.json is mounted.
func TestComposeGrafana(t *testing.T) {
	t.Parallel()
	services := loadCompose(t)
	g, ok := services["grafana"]
	require.True(t, ok)
	mounts := g.mounts()
	require.Equal(t, "/etc/grafana/provisioning", mounts[grafanaProvDir])
	dashboardAt, ok := mounts[dashboardFile]
	require.True(t, ok, "grafana mounts %s", dashboardFile)

	docs := yamlDocs(t, filepath.Join(grafanaProvDir, "dashboards", "reconlayer.yml"))
	prov := as[struct {
		APIVersion int `json:"apiVersion"`
		Providers  []struct {
			Type    string `json:"type"`
			Options struct {
				Path string `json:"path"`
			} `json:"options"`
		} `json:"providers"`
	}](t, docs[0], "dashboard provisioning")
	require.Equal(t, 1, prov.APIVersion)
	require.Len(t, prov.Providers, 1)
	require.Equal(t, "file", prov.Providers[0].Type)
	require.Equal(t, path.Dir(dashboardAt), prov.Providers[0].Options.Path, "the provider reads the folder the dashboard is mounted in")

	docs = yamlDocs(t, filepath.Join(grafanaProvDir, "datasources", "prometheus.yml"))
	ds := as[struct {
		APIVersion  int `json:"apiVersion"`
		Datasources []struct {
			Type      string `json:"type"`
			URL       string `json:"url"`
			IsDefault bool   `json:"isDefault"`
		} `json:"datasources"`
	}](t, docs[0], "datasource provisioning")
	require.Equal(t, 1, ds.APIVersion)
	require.Len(t, ds.Datasources, 1)
	d, _ := loadDashboard(t)
	var dsVar variable
	for _, v := range d.Templating.List {
		if v.Name == "DS_PROMETHEUS" {
			dsVar = v
		}
	}
	require.Equal(t, dsVar.Query, ds.Datasources[0].Type, "DS_PROMETHEUS lists datasources of this type")
	require.True(t, ds.Datasources[0].IsDefault, "DS_PROMETHEUS starts on the default datasource")
	u, err := url.Parse(ds.Datasources[0].URL)
	require.NoError(t, err)
	require.Contains(t, services, u.Hostname())
	require.Equal(t, "9090", u.Port())
}

// TestEnvNames: every setting the manifests and compose pass is one the processes read. A
// misspelt variable is silently ignored by the binary, so it fails here instead.
func TestEnvNames(t *testing.T) {
	t.Parallel()
	source := readText(t, configSource)
	c := loadCluster(t)
	names := map[string]string{} // name → where it is set
	for _, kind := range []string{"Deployment", "Job"} {
		for _, o := range c.kind(kind, false) {
			for _, ctr := range spec[workloadSpec](t, o).Template.Spec.Containers {
				for _, e := range ctr.Env {
					names[e.Name] = o.file
				}
			}
		}
	}
	for _, o := range c.kind("ConfigMap", true) {
		for k := range o.Data {
			names[k] = o.file
		}
	}
	for name, s := range loadCompose(t) {
		for k := range s.Environment {
			names[k] = composeFile + " service " + name
		}
	}
	checked := 0
	for name, where := range names {
		if !strings.HasPrefix(name, "RECONLAYER_") && name != "DATABASE_URL" && name != "REDIS_URL" {
			continue
		}
		checked++
		require.True(t, strings.Contains(source, `"`+name+`"`), "%s sets %s, which %s does not read", where, name, configSource)
	}
	require.GreaterOrEqual(t, checked, 5)
}

// ---------------------------------------------------------------------------- Dockerfile

// dockerInstructions returns the Dockerfile's instructions (continuation lines joined,
// comments dropped), each as its keyword and the rest.
func dockerInstructions(t *testing.T) [][2]string {
	t.Helper()
	var out [][2]string
	var cur strings.Builder
	for _, line := range strings.Split(readText(t, dockerfile), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if body, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(body + " ")
			continue
		}
		cur.WriteString(trimmed)
		keyword, rest, _ := strings.Cut(cur.String(), " ")
		out = append(out, [2]string{strings.ToUpper(keyword), strings.TrimSpace(rest)})
		cur.Reset()
	}
	require.Zero(t, cur.Len(), "the Dockerfile ends in a continuation line")
	return out
}

func TestDockerfile(t *testing.T) {
	t.Parallel()
	ins := dockerInstructions(t)

	// Stages: the build stage, then the final one.
	var stages [][][2]string
	args := map[string]string{}
	for _, in := range ins {
		if in[0] == "FROM" {
			stages = append(stages, nil)
		}
		if in[0] == "ARG" && len(stages) == 0 {
			k, v, _ := strings.Cut(in[1], "=")
			args[k] = v
		}
		if len(stages) > 0 {
			stages[len(stages)-1] = append(stages[len(stages)-1], in)
		}
	}
	require.GreaterOrEqual(t, len(stages), 2, "a multi-stage build")
	// from returns a stage's base image (the FROM line past its --flags).
	from := func(stage [][2]string) string {
		for _, f := range strings.Fields(stage[0][1]) {
			if !strings.HasPrefix(f, "--") {
				return f
			}
		}
		return ""
	}

	// The build stage's Go is the one go.mod asks for (the golang images set
	// GOTOOLCHAIN=local, so an older one fails).
	build := stages[0]
	require.Equal(t, "golang:${GO_VERSION}", from(build))
	goDirective := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(readText(t, goMod))
	require.NotNil(t, goDirective, "go.mod has no go directive")
	require.Equal(t, goDirective[1], args["GO_VERSION"], "the golang image matches go.mod's go directive")

	var goBuild string
	for _, in := range build {
		if in[0] == "RUN" && strings.Contains(in[1], "go build") {
			goBuild = in[1]
		}
	}
	require.NotEmpty(t, goBuild, "no `go build` in the build stage")
	require.Contains(t, goBuild, "CGO_ENABLED=0", "a static binary, for distroless/static")
	require.Contains(t, goBuild, "-trimpath")
	require.Regexp(t, `\s-o /out/reconlayer\s+\./cmd/reconlayer$`, goBuild, "it builds the main package")
	require.DirExists(t, "../cmd/reconlayer")
	x := regexp.MustCompile(`-X (\S+)\.(\w+)=`).FindStringSubmatch(goBuild)
	require.NotNil(t, x, "the version is set with -ldflags -X")
	require.Equal(t, "github.com/reconlayer/reconlayer/internal/buildinfo", x[1])
	require.Contains(t, readText(t, goMod), "module github.com/reconlayer/reconlayer\n")
	require.Regexp(t, `(?m)^var `+x[2]+` = `, readText(t, buildinfoSource), "-X names a variable of internal/buildinfo")

	// The final stage: distroless or scratch, non-root, the binary as entrypoint.
	final := stages[len(stages)-1]
	base := from(final)
	require.True(t, strings.HasPrefix(base, "gcr.io/distroless/") || base == "scratch", "final stage is %s", base)
	instr := map[string][]string{}
	for _, in := range final {
		instr[in[0]] = append(instr[in[0]], in[1])
	}
	require.Contains(t, instr["COPY"], "--from=build /out/reconlayer /reconlayer")
	if users := instr["USER"]; len(users) > 0 {
		user, _, _ := strings.Cut(users[len(users)-1], ":")
		uid, err := strconv.Atoi(user)
		require.NoError(t, err, "USER %s: numeric, so that Kubernetes' runAsNonRoot can check it", user)
		require.NotZero(t, uid, "USER 0 is root")
	} else {
		require.True(t, strings.HasSuffix(base, ":nonroot"), "no USER and not a :nonroot image")
	}
	require.Equal(t, []string{`["/reconlayer"]`}, instr["ENTRYPOINT"])
	require.Equal(t, []string{`["all"]`}, instr["CMD"])
	require.Len(t, instr["EXPOSE"], 1)
	require.ElementsMatch(t, []string{"3001", "3002"}, strings.Fields(instr["EXPOSE"][0]))

	// The context is the repo root: nothing the build needs is ignored, the bulky and the
	// private is.
	var ignored []string
	for _, line := range strings.Split(readText(t, dockerignore), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			ignored = append(ignored, line)
		}
	}
	for _, want := range []string{".git", ".local"} {
		require.Contains(t, ignored, want, dockerignore)
	}
	for _, needed := range []string{"go.mod", "go.sum", "api", "cmd", "internal", "migrations", "worker", "*", "**"} {
		require.NotContains(t, ignored, needed, "%s leaves out %s, which the build needs", dockerignore, needed)
	}
}
