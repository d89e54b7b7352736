package statement

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

func mt940FixtureDir() string {
	return filepath.Join("..", "..", "..", "shared", "fixtures", "statements", "mt940")
}

func mt940Parse(t testing.TB, data []byte) ([]*Statement, error) {
	t.Helper()
	return Collect(ParseMT940, bytes.NewReader(data))
}

// mt940Fixtures holds, per fixture, what each statement must be, as
// "ID|account|servicer|currency|entries|credits|debits|diff": the booked
// credit and debit totals and opening + credits − debits − closing ("-"
// when the message states no :60:/:62:). The values were read off the files
// (an independent line-by-line sum of the :61: amounts, checked by hand on
// a sample).
//
// Several hand-made samples do not reconcile; the difference is asserted
// exactly rather than hidden:
//   - jejik abnamro (2038, 1002.60), commerzbank and deutschebank (-12.35:
//     balances 0,00 around a 12,35 debit), ing-dos (-49.06), knab message 2
//     (-4500), postfinance message 2 (-0.20), rabobank (-1135.93, -236.56),
//     mt940-js abn-amro-1 (213.51), buxtehude (-100), Hsbc (-20000),
//     raiffeisen-cmi (-1123264), zilverline 14aug2014 (-471.87): the authors
//     edited lines or balances without keeping them consistent.
//   - php-mt940 Rabo_sample: 39 made-up daily statements whose balances do
//     not chain (several accounts reuse the same :20:), so most differ.
var mt940Fixtures = []struct {
	file       string
	format     Format
	statements []string
	// err is the fatal error the file must end with, after the statements
	// before it were handed over.
	err string
}{
	{file: "jejik-mt940__abnamro.txt", statements: []string{
		"ABN AMRO BANK NV|517852257||EUR|8|0|321.44|2038",
		"ABN AMRO BANK NV|517852257||EUR|2|0|24.49|1002.6",
	}},
	{file: "jejik-mt940__commerzbank.txt", statements: []string{
		"01LGX08DLMWH5GWA|0123456789|25040066|EUR|1|0|12.35|-12.35",
	}},
	{file: "jejik-mt940__deutschebank.txt", statements: []string{
		"DEUTDEMMXXX|0123456601|20070000|EUR|1|0|12.35|-12.35",
	}},
	{file: "jejik-mt940__ing-dos.txt", statements: []string{
		"MPBZ|0001234567||EUR|7|4.68|50.27|-49.06",
	}},
	{file: "jejik-mt940__knab.txt", statements: []string{
		"B4E08MS9D00A0009|123456789||EUR|1|500|0|0",
		"B4G30MS9D00A003D|123456789||EUR|2|500|7260|-4500",
	}},
	{file: "jejik-mt940__postfinance.txt", statements: []string{
		"2014040708285927|123456789||CHF|2|229.2|0|0",
		"2014040708285928|123456789||CHF|2|10.1|79.9|-0.2",
	}},
	{file: "jejik-mt940__rabobank.txt", statements: []string{
		"940A110615|1291.99.348||EUR|1|0|1213.28|-1135.93",
		"940A110616|1291.99.348||EUR|0|0|0|0",
		"940A110617|1291.99.348||EUR|2|0|281.51|-236.56",
		"940A120829|1526.89.184||EUR|2|0|94.3|0",
	}},
	{file: "jejik-mt940__sparkasse_interim_balance.txt", statements: []string{
		"STARTUMSE|123456789|87052000|EUR|1|0|20|0",
		"STARTUMSE|123456789|87052000|EUR|1|0|20|0",
		"STARTUMSE|123456789|87052000|EUR|0|0|0|0",
	}},
	{file: "jejik-mt940__volksbankenraiffeisenbanken.txt", statements: []string{
		"STARTUMS|93387|66642399|EUR|2|145|0|0",
		"STARTUMS|93387|66642399|EUR|1|80|0|0",
		"STARTUMS|93387|66642399|EUR|2|120|0|0",
		"STARTUMS|93387|66642399|EUR|3|190|0|0",
		"STARTUMS|93387|66642399|EUR|1|65|0|0",
		"STARTUMS|93387|66642399|EUR|1|50|0|0",
		"STARTUMS|93387|66642399|EUR|1|40|0|0",
		"STARTUMS|93387|66642399|EUR|1|55|0|0",
	}},
	{file: "mt940-js__abn-amro-1.STA", statements: []string{
		"ABN AMRO BANK NV|123456789||EUR|1|5.41|0|213.51",
	}},
	{file: "mt940-rs__MT940_DK_Example.sta", statements: []string{
		"3996-1234567890|1234567890|DABADKKK|DKK|7|7183.49|832015.03|0",
		"3996-1234567890|1234567890|DABADKKK|DKK|3|993.75|75765.41|0",
		"3996-1234567890|1234567890|DABADKKK|DKK|16|0|163408.12|0",
		"3996-1234567890|1234567890|DABADKKK|DKK|9|0|74318.9|0",
		"3996-1234567890|1234567890|DABADKKK|DKK|2|3260|494402.67|0",
		"3996-1234567890|1234567890|DABADKKK|DKK|1|0|3317.1|0",
		"3996-1234567890|1234567890|DABADKKK|DKK|16|0|141083.98|0",
		"3996-1234567890|1234567890|DABADKKK|DKK|2|0|975.25|0",
		"3996-1234567890|1234567890|DABADKKK|DKK|3|0|1918.73|0",
		"3996-1234567890|1234567890|DABADKKK|DKK|7|0|76451.36|0",
		"3996-1234567890|1234567890|DABADKKK|DKK|3|0|14577.58|0",
		"3996-1234567890|1234567890|DABADKKK|DKK|14|1747425|319133.19|0",
		"3996-1234567890|1234567890|DABADKKK|DKK|1|2072226.11|0|0",
		"3996-1234567890|1234567890|DABADKKK|DKK|3|79798|332744.25|0",
		"3996-1234567890|1234567890|DABADKKK|DKK|2|0|8322.01|0",
	}},
	{file: "mt940-rs__MT940_NO_Example.sta", statements: []string{
		"3996-11.11.11111|1111.11.11111|DABADKKK|NOK|2|0|11874.67|0",
		"3996-11.11.11111|1111.11.11111|DABADKKK|NOK|2|104104|67731|0",
		"3996-11.11.11111|1111.11.11111|DABADKKK|NOK|1|484900|0|0",
		"3996-11.11.11111|1111.11.11111|DABADKKK|NOK|2|440525.65|143.6|0",
		"3996-11.11.11111|1111.11.11111|DABADKKK|NOK|3|2408926|681920|0",
		"3996-11.11.11111|1111.11.11111|DABADKKK|NOK|6|0|463782.25|0",
		"3996-11.11.11111|1111.11.11111|DABADKKK|NOK|1|16231|0|0",
		"3996-11.11.11111|1111.11.11111|DABADKKK|NOK|1|339596|0|0",
		"3996-11.11.11111|1111.11.11111|DABADKKK|NOK|2|0|113780|0",
		"3996-11.11.11111|1111.11.11111|DABADKKK|NOK|1|0|128593.75|0",
		"3996-11.11.11111|1111.11.11111|DABADKKK|NOK|1|5968.64|0|0",
		"3996-11.11.11111|1111.11.11111|DABADKKK|NOK|1|30278|0|0",
		"3996-11.11.11111|1111.11.11111|DABADKKK|NOK|1|19945|0|0",
	}},
	{file: "mt940-rs__buxtehude.sta", statements: []string{
		"STARTUMSE|0291593375|20752041|EUR|3|0|141.04|-100",
	}},
	{file: "php-mt940__Bunq_sample", statements: []string{
		"BUNQ BV|NL10BUNQ2290325473||EUR|111|761.66|788.33|0",
	}},
	{file: "php-mt940__Hsbc_sample", statements: []string{
		"AIU0006362100017|808XXXXXX292||HKD|1|0|20000|-20000",
	}},
	{file: "php-mt940__Kbs_sample2", statements: []string{
		"STM94201009|300000002778989||MKD|7|73700|50945|0",
	}},
	{file: "php-mt940__Kontist_sample", statements: []string{
		"KONTISTEXPORT|DE85110101002482488293||EUR|6|515.95|120.19|0",
	}},
	{file: "php-mt940__Penta_sample", statements: []string{
		"PENTA1602951605571|2324817618|11010100|EUR|30|121.38|10697.68|0",
	}},
	{file: "php-mt940__Rabo_sample", statements: []string{
		"940A030107|0800003200000001610722||EUR|0|0|0|-2145",
		"940A030108|0800003200000001610722||EUR|0|0|0|0",
		"940A030109|0800003200000001610722||EUR|0|0|0|0",
		"940A030107|1017.490.554||EUR|0|0|0|-20000",
		"940A030108|1017.490.554||EUR|2|600|0|100",
		"940A030109|1017.490.554||EUR|1|500|0|634",
		"940A030107|1700.32.841||EUR|0|0|0|-10500",
		"940A030108|1700.32.841||EUR|0|0|0|400",
		"940A030109|1700.32.841||EUR|3|100|600|-400",
		"940A030107|1700.59.286||EUR|0|0|0|3550",
		"940A030108|1700.59.286||EUR|0|0|0|0",
		"940A030109|1700.59.286||EUR|0|0|0|0",
		"940A030107|1700.59.286||USD|0|0|0|-482.41",
		"940A030108|1700.59.286||USD|0|0|0|-164800",
		"940A030109|1700.59.286||USD|4|165800.31|1000|164592.31",
		"940A030104|1700.59.308||EUR|5|3111.76|0|-8703.39",
		"940A030105|1700.59.308||EUR|1|3288.86|0|-18056.24",
		"940A030106|1700.59.308||EUR|5|52415.35|4220|87764.76",
		"940A030107|1700.59.308||EUR|0|0|0|21345.1",
		"940A030108|1700.59.308||EUR|0|0|0|-60914.51",
		"940A030109|1700.59.308||EUR|11|76118.5|37390.79|38727.71",
		"940A030110|1700.59.308||EUR|0|0|0|-368493.56",
		"940A030111|1700.59.308||EUR|0|0|0|-380467.01",
		"940A030112|1700.59.308||EUR|0|0|0|-319629.5",
		"940A030107|1700.59.308||JPY|0|0|0|115351",
		"940A030108|1700.59.308||JPY|0|0|0|-115361",
		"940A030109|1700.59.308||JPY|4|1640129|486619|1153328",
		"940A030107|1700.59.308||USD|0|0|0|-1500",
		"940A030108|1700.59.308||USD|0|0|0|0",
		"940A030109|1700.59.308||USD|0|0|0|0",
		"940A030107|3000.91.494||EUR|0|0|0|65499.34",
		"940A030108|3000.91.494||EUR|0|0|0|-1245",
		"940A030109|3000.91.494||EUR|3|1245|62377.17|1245",
		"940A030107|4324567-0000081||EUR|0|0|0|-2545",
		"940A030108|4324567-0000081||EUR|0|0|0|0",
		"940A030109|4324567-0000081||EUR|0|0|0|0",
		"940A030107|8888.888.888||EUR|0|0|0|-5500",
		"940A030108|8888.888.888||EUR|0|0|0|0",
		"940A030109|8888.888.888||EUR|0|0|0|0",
	}},
	{file: "php-mt940__Zetb_sample", statements: []string{
		"202012182126594|1014365930||NGN|8|220000|223743.91|0",
	}},
	{file: "wolph-mt940__ASNB_mt940.txt", statements: []string{
		"0000000000|NL81ASNB9999999999||EUR|1|0|65|0",
		"0000000000|NL81ASNB9999999999||EUR|0|0|0|0",
		"0000000000|NL81ASNB9999999999||EUR|0|0|0|0",
		"0000000000|NL81ASNB9999999999||EUR|0|0|0|0",
		"0000000000|NL81ASNB9999999999||EUR|2|1000|801.55|0",
		"0000000000|NL81ASNB9999999999||EUR|0|0|0|0",
		"0000000000|NL81ASNB9999999999||EUR|0|0|0|0",
		"0000000000|NL81ASNB9999999999||EUR|0|0|0|0",
		"0000000000|NL81ASNB9999999999||EUR|0|0|0|0",
		"0000000000|NL81ASNB9999999999||EUR|0|0|0|0",
		"0000000000|NL81ASNB9999999999||EUR|0|0|0|0",
		"0000000000|NL81ASNB9999999999||EUR|0|0|0|0",
		"0000000000|NL81ASNB9999999999||EUR|0|0|0|0",
		"0000000000|NL81ASNB9999999999||EUR|0|0|0|0",
		"0000000000|NL81ASNB9999999999||EUR|0|0|0|0",
		"0000000000|NL81ASNB9999999999||EUR|0|0|0|0",
		"0000000000|NL81ASNB9999999999||EUR|0|0|0|0",
		"0000000000|NL81ASNB9999999999||EUR|0|0|0|0",
		"0000000000|NL81ASNB9999999999||EUR|0|0|0|0",
		"0000000000|NL81ASNB9999999999||EUR|0|0|0|0",
		"0000000000|NL81ASNB9999999999||EUR|0|0|0|0",
		"0000000000|NL81ASNB9999999999||EUR|0|0|0|0",
		"0000000000|NL81ASNB9999999999||EUR|0|0|0|0",
		"0000000000|NL81ASNB9999999999||EUR|0|0|0|0",
		"0000000000|NL81ASNB9999999999||EUR|1|0|1.65|0",
		"0000000000|NL81ASNB9999999999||EUR|0|0|0|0",
		"0000000000|NL81ASNB9999999999||EUR|0|0|0|0",
		"0000000000|NL81ASNB9999999999||EUR|0|0|0|0",
		"0000000000|NL81ASNB9999999999||EUR|2|828.72|1000|0",
		"0000000000|NL81ASNB9999999999||EUR|0|0|0|0",
		"0000000000|NL81ASNB9999999999||EUR|2|1000.18|903.76|0",
	}},
	{file: "wolph-mt940__cmxl_mt940.sta", statements: []string{
		"131110|76198810|45050050|DEM|11|49396.74|49309.44|0",
		"1234567|1234567|10020030|EUR|2|3000|800|0",
		"TELEWIZORY S.A.|320000546101|BPHKPLPK|PLN|3|20040|10000|0",
	}},
	{file: "wolph-mt940__mBank_mt940.sta", statements: []string{
		"ST170119CYC/1|PL29114010810000267002001002||PLN|3|0.03|0|0",
	}},
	{file: "wolph-mt940__mBank_mt942.sta", format: FormatMT942, statements: []string{
		"ST170119CYC/0001|PL29114010810000267002001002||PLN|3|0.03|0|-",
	}},
	{file: "wolph-mt940__multiline.sta", statements: []string{
		"BILMT940|\"NUMERO DE COMPTE IBAN 2\"|BILLLULLXXX|EUR|1|0|5|0",
	},
		// After the message's closing "-" the file has a stray :61: with
		// no :20:, :25: or :60: (a line pasted into the sample): it
		// belongs to no statement and must not be dropped silently.
		err: "line 38: tag :61: outside a statement: the message before ended at line 37 and no :20: follows it"},
	{file: "wolph-mt940__raiffeisen-cmi.sta", statements: []string{
		"STARTUMS|123456789150ABCDEF002|UBRTHUHB|HUF|7|2066637|3078850.5|-1123264",
	}},
	{file: "wolph-mt940__sepa_mt9401.sta", statements: []string{
		"T089413946000001|0194774600888|50880050|EUR|7|997241.96|1000151.83|0",
		"T089413956000001|0194777100888|50880050|EUR|2|15000.05|500250|0",
		"T089413966000001|0194778300888|50880050|EUR|5|125180.81|653219.32|0",
		"T089413976000001|0194779500888|50880050|EUR|3|1050000|0|0",
		"T089413986000001|0194780100888|50880050|EUR|5|204.88|726899.15|0",
		"T089413996000001|0194780101888|50880050|EUR|1|50990.05|0|0",
		"T089414006000001|0194781300888|50880050|EUR|4|19990.05|10061.68|0",
		"T089414006000002|0194781300888|50880050|EUR|4|0|70350.62|0",
		"T089414016000001|0194782500888|50880050|EUR|8|201202.1|7650.24|0",
		"T089414016000002|0194782500888|50880050|EUR|3|0|944525.59|0",
		"T089414026000001|0194783700888|50880050|EUR|6|915646.88|18163.85|0",
		"T089414026000002|0194783700888|50880050|EUR|6|0|2087703.12|0",
		"T089414036000001|0194784900888|50880050|EUR|6|171052|411579.81|0",
		"T089414036000002|0194784900888|50880050|EUR|3|0|2826312|0",
		"T089414046000001|0194784901888|50880050|EUR|1|13990.05|0|0",
		"T089414056000001|0194785000888|50880050|EUR|5|0|20066.02|0",
		"T089414056000002|0194785000888|50880050|EUR|5|0|182316.43|0",
		"T089414056000003|0194785000888|50880050|EUR|2|0|1298692.05|0",
		"T089414066000001|0194785001888|50880050|EUR|1|50990.05|0|0",
		"T089414076000001|0194786200888|50880050|EUR|3|92990.19|0|0",
		"T089414086000001|0194787400888|50880050|EUR|4|360093.91|1500|0",
		"T089414096000001|0194791600888|50880050|EUR|7|1070951.81|3572569.03|0",
		"T089414106000001|0194791601888|50880050|EUR|3|52900.1|125300.1|0",
		"T089414116000001|0194798900888|50880050|EUR|1|0|150|0",
		"T089414126000001|0194799000888|50880050|EUR|1|0|150|0",
		"T089414136000001|0194804000888|50880050|EUR|1|50.05|0|0",
	}},
	{file: "zilverline-mt940__14aug2014.swi", statements: []string{
		"940S140723|NL50RABO0156750961||EUR|2|429.14|672.66|-471.87",
	}},
	{file: "zilverline-mt940__mt940_iban.txt", statements: []string{
		"P123456000000001|NL68INGB0000012345||EUR|21|14640|14830.45|0",
	}},
	{file: "zilverline-mt940__rabobank.txt", statements: []string{
		"940A121001|2121.21.211||EUR|1|0|50|0",
		"940A121002|2121.21.211||EUR|0|0|0|0",
		"940A121003|2121.21.211||EUR|0|0|0|0",
		"940A121004|2121.21.211||EUR|1|0|30.25|0",
		"940A121005|2121.21.211||EUR|0|0|0|0",
		"940A121008|2121.21.211||EUR|1|0|190.14|0",
		"940A121009|2121.21.211||EUR|0|0|0|0",
		"940A121010|2121.21.211||EUR|0|0|0|0",
		"940A121011|2121.21.211||EUR|0|0|0|0",
		"940A121012|2121.21.211||EUR|0|0|0|0",
		"940A121015|2121.21.211||EUR|2|0|75|0",
		"940A121016|2121.21.211||EUR|0|0|0|0",
		"940A121017|2121.21.211||EUR|2|12100|88.06|0",
		"940A121018|2121.21.211||EUR|0|0|0|0",
		"940A121019|2121.21.211||EUR|1|0|4019.23|0",
		"940A121022|2121.21.211||EUR|0|0|0|0",
		"940A121023|2121.21.211||EUR|0|0|0|0",
		"940A121024|2121.21.211||EUR|0|0|0|0",
		"940A121025|2121.21.211||EUR|1|0|3076|0",
		"940A121026|2121.21.211||EUR|2|0|15327|0",
		"940A121029|2121.21.211||EUR|0|0|0|0",
		"940A121030|2121.21.211||EUR|0|0|0|0",
		"940A121031|2121.21.211||EUR|0|0|0|0",
	}},
	{file: "zilverline-mt940__two_accounts.txt", statements: []string{
		"940A120918|1567.50.961||EUR|2|0|6598.75|0",
		"940A121024|9914.30.727||EUR|0|0|0|0",
		"940A121101|3462.483.153||EUR|0|0|0|0",
		"940A121029|1325.76.155||EUR|1|250|0|0",
	}},
}

func TestMT940Fixtures(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(mt940FixtureDir(), "*"))
	require.NoError(t, err)
	var listed []string
	for _, f := range mt940Fixtures {
		listed = append(listed, f.file)
	}
	var found []string
	for _, f := range files {
		found = append(found, filepath.Base(f))
	}
	require.ElementsMatch(t, found, listed, "every mt940 fixture must be in mt940Fixtures")

	for _, tc := range mt940Fixtures {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(filepath.Join(mt940FixtureDir(), tc.file))
			require.NoError(t, err)
			sts, err := mt940Parse(t, data)
			if tc.err != "" {
				var se *Error
				require.ErrorAs(t, err, &se)
				require.Equal(t, tc.err, se.Error())
			} else {
				require.NoError(t, err)
			}
			require.Len(t, sts, len(tc.statements))
			entries := 0
			for i, want := range tc.statements {
				f := strings.Split(want, "|")
				require.Len(t, f, 8, want)
				st := sts[i]
				msg := fmt.Sprintf("statement %d (line %d)", i+1, st.Pos.Line)
				format := tc.format
				if format == "" {
					format = FormatMT940
				}
				require.Equal(t, format, st.Format, msg)
				require.Equal(t, f[0], st.ID, msg)
				require.Equal(t, f[1], st.Account.ID, msg)
				require.Equal(t, f[2], st.Account.Servicer, msg)
				if mt940IsIBAN(f[1]) {
					require.Equal(t, f[1], st.Account.IBAN, msg)
				} else {
					require.Empty(t, st.Account.IBAN, msg)
				}
				require.Equal(t, f[3], st.Currency, msg)
				require.Equal(t, f[3], st.Account.Currency, msg)
				n, err := strconv.Atoi(f[4])
				require.NoError(t, err)
				require.Len(t, st.Entries, n, msg)
				entries += n
				credit, debit, booked := Totals(st.Entries)
				require.Equal(t, n, booked, msg)
				require.True(t, decimal.RequireFromString(f[5]).Equal(credit), "%s: credits %s, want %s", msg, credit, f[5])
				require.True(t, decimal.RequireFromString(f[6]).Equal(debit), "%s: debits %s, want %s", msg, debit, f[6])
				ok, stated, diff := Reconciles(st)
				if f[7] == "-" {
					require.False(t, stated, msg)
				} else {
					require.True(t, stated, msg)
					require.True(t, decimal.RequireFromString(f[7]).Equal(diff), "%s: difference %s, want %s", msg, diff, f[7])
					require.Equal(t, diff.IsZero(), ok, msg)
				}
				for _, e := range st.Entries {
					require.Empty(t, e.Errors, "entry at line %d", e.Pos.Line)
					require.Equal(t, StatusBooked, e.Status)
					require.Equal(t, st.Currency, e.Currency)
					require.False(t, e.Amount.IsNegative())
					require.Contains(t, []Direction{Credit, Debit}, e.Direction)
					require.NotNil(t, e.ValueDate)
					require.NotNil(t, e.BookingDate)
					require.Positive(t, e.Pos.Line)
				}
			}
			total := 0
			for _, st := range sts {
				total += len(st.Entries)
			}
			require.Equal(t, entries, total)
		})
	}
}

func mt940Day(t *testing.T, s string) *time.Time {
	t.Helper()
	d, err := time.Parse("2006-01-02", s)
	require.NoError(t, err)
	return &d
}

func mt940ReadFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(mt940FixtureDir(), name))
	require.NoError(t, err)
	return data
}

// mt940FixtureStatements parses a fixture that must parse (the multiline
// fixture is parsed up to its trailing error).
func mt940FixtureStatements(t *testing.T, name string) []*Statement {
	t.Helper()
	sts, err := mt940Parse(t, mt940ReadFixture(t, name))
	if name != "wolph-mt940__multiline.sta" {
		require.NoError(t, err)
	}
	return sts
}

func TestMT940Entries(t *testing.T) {
	t.Parallel()
	type want struct {
		file                        string
		stmt, entry, line           int
		amount                      string
		dir                         Direction
		value, booking              string
		reversal                    bool
		typeCode, custRef, bankRef  string
		e2e, name, acct, remittance string
		// description is compared when set.
		description string
	}
	tests := []want{
		{file: "jejik-mt940__commerzbank.txt", line: 5, amount: "12.35", dir: Debit, value: "2020-06-08", booking: "2020-06-08",
			typeCode: "NRTI", custRef: "KREF+", bankRef: "2016021783252833",
			e2e: "A1.200080779.400143254.4961336", name: "TESTEREL", acct: "DE50712345600200691329",
			remittance: "SONSTIGE GRUENDE ENDABRECHNUNG NR. 500106875 ZU VERTRA400143254, KUNDENNUM MER 202227779",
			description: "/OCMT/EUR11,85//CHGS/EUR0,50/\n109?00SEPA-LASTSCHR. RETOURE CORE?109075/629?20EREF+A1.200080779.\n" +
				"400143254?21.4961336 KREF+SEPA-DA202006?2201221740-34972000-P1 MR\n" +
				"EF+2?230852HW2723821 CRED+DE41EON0?240000129793 OAMT+11,85 SVWZ+?\n" +
				"25SONSTIGE GRUENDE ENDABRECHN?26UNG NR. 500106875 ZU VERTRA?2740\n" +
				"0143254, KUNDENNUM MER 2?2802227779?30CSDBDE71XXX?31DE50712345600\n200691329?32TESTER?33EL"},
		// RC: reversal of a credit, a debit; "CR"/"DR" are a mark and the
		// funds code R (from EUR).
		{file: "wolph-mt940__sepa_mt9401.sta", stmt: 0, entry: 5, line: 19, amount: "204.88", dir: Debit, value: "2007-09-04", booking: "2007-09-04",
			reversal: true, typeCode: "NRTI", remittance: "0904059003", description: "079?00SAMMLER/STORNO?109800?200904059003"},
		{file: "wolph-mt940__sepa_mt9401.sta", stmt: 4, entry: 1, line: 101, amount: "204.88", dir: Debit, value: "2007-09-04", booking: "2007-09-04",
			reversal: true, typeCode: "NRTI", custRef: "MSGIDCTSc03MintT", bankRef: "R724710290656678"},
		{file: "wolph-mt940__sepa_mt9401.sta", stmt: 4, entry: 2, line: 103, amount: "50990.05", dir: Debit, value: "2007-09-04", booking: "2007-09-04",
			typeCode: "NTRF", custRef: "KREF+", bankRef: "0724710352954937", e2e: "TFNR 21005 EndToEndId 00001",
			name: "Empfaenger Florian Frech UK 01", acct: "DE76508800500194780101", remittance: "Verwend CTSc-01 eBB TFNr 21005"},
		// An EREF+ in a short ?20 ends there; the MTLG: text after it is
		// the remittance.
		{file: "wolph-mt940__sepa_mt9401.sta", stmt: 0, entry: 0, line: 5, amount: "300", dir: Credit, value: "2007-09-04", booking: "2007-09-04",
			typeCode: "NTRF", custRef: "TFNr 40005 MSGID", bankRef: "0724710345313905", e2e: "TFNR 40005 00005",
			remittance: "MTLG:Grund nicht spezifiziert Reject aus SEPA-Ueberweisungsauftrag"},
		{file: "mt940-js__abn-amro-1.STA", line: 8, amount: "5.41", dir: Credit, value: "2011-07-14", booking: "2011-07-15",
			typeCode: "N426", name: "TT TEST", acct: "NL****", remittance: "TRANSFER OWN MONEY",
			description: "/TRTP/SEPA OVERBOEKING/IBAN/NL****/BIC/ABNA***/NAME/\nTT TEST/REMI/TRANSFER OWN MONEY/EREF/NOTPROVIDED"},
		{file: "zilverline-mt940__mt940_iban.txt", entry: 8, line: 40, amount: "73.62", dir: Debit, value: "2014-08-25", booking: "2014-08-25",
			typeCode: "NDDT", custRef: "EREF", bankRef: "12345678909876", e2e: "02164810730000043", name: "KPN - MOBIEL",
			acct: "NL75INGB0000012345", remittance: "Factuurnr: 2015/123456789.00. Kijk voor meer informatie op KPN.comof Hi.nl"},
		{file: "zilverline-mt940__mt940_iban.txt", entry: 7, line: 36, amount: "100", dir: Credit, value: "2014-08-25", booking: "2014-08-25",
			typeCode: "NTRF", bankRef: "14237649141335", acct: "0007654332", remittance: "VAN Zkl Kwartaal Spaarrekening"},
		{file: "zilverline-mt940__14aug2014.swi", line: 6, amount: "672.66", dir: Debit, value: "2014-07-22", booking: "2014-07-22",
			typeCode: "N505", name: "ZILVERLINE B.V.", acct: "NL86RABO3462483153",
			description: "NL86RABO3462483153\n/BENM//NAME/ZILVERLINE B.V./ISDT/2014-07-22"},
		{file: "zilverline-mt940__14aug2014.swi", entry: 1, line: 9, amount: "429.14", dir: Credit, value: "2014-07-23", booking: "2014-07-23",
			typeCode: "N541", custRef: "EREF", e2e: "1407220203722001", name: "COMPANY B V", acct: "NL93ABNA0617558213",
			remittance: "2037 201407-323/201407-322/201407-3 27/201406-309/201406-310"},
		// Rabobank legacy: name after the 16-character reference, several
		// :86: per line, lines padded with spaces.
		{file: "jejik-mt940__rabobank.txt", line: 6, amount: "1213.28", dir: Debit, value: "2011-05-27", booking: "2011-05-27",
			typeCode: "N044", custRef: "0121470966",
			description: "W.P. Jansen\nTerugboeking\nNIET AKKOORD MET AFSCHRIJVING\nKOSTEN KINDEROPVANG JUNI\n20095731"},
		{file: "jejik-mt940__volksbankenraiffeisenbanken.txt", stmt: 2, line: 30, amount: "55", dir: Credit, value: "2020-02-24", booking: "2020-02-24",
			typeCode: "NMSC", e2e: "ZV0100284190949300000002", name: "Thomas Schulz", acct: "DE88500105178285756556",
			remittance: "Musical Sonja Schulz CD EREF: ZV0100284190949300000002 IBAN: DE88500105178285756556 BIC: SAKSDE55"},
		{file: "jejik-mt940__sparkasse_interim_balance.txt", line: 5, amount: "20", dir: Debit, value: "2019-02-18", booking: "2019-02-18",
			typeCode: "N037", name: "ARAL AG", acct: "DE95430800830802029200", remittance: "2019-02-15T20.10 Debitk.4 2019-12",
			description: "106?00KARTENZAHLUNG?109262?20SVWZ+2019-02-15T20.10 Debit?21k.\n4 2019-12?22ABWA+Aral Tankstelle Chemni?23tz Leipziger Straße 257\n" +
				"//Ch?24emnitz/DE?30DRESDEFF430?31DE95430800830802029200?32ARAL AG\n?34011"},
		{file: "wolph-mt940__mBank_mt942.sta", line: 7, amount: "0.01", dir: Credit, value: "2017-01-19", booking: "2017-01-19",
			typeCode: "NTRF", bankRef: "MB170119012058",
			description: "911-TRANSAKCJA IPH\n911 TRANSAKCJA COLLECT; ID IPH: XX000000000001; Z RACH.:\n56114010810000267002001001; OD: JAN NOWAK\n" +
				"UL. NIJAKA 1 M 2 31-234 KRAKOW; TYT.: PRZELEW SRODKOW   ;\nTNR: 179171073864111.010001"},
		{file: "wolph-mt940__cmxl_mt940.sta", stmt: 1, line: 36, amount: "800", dir: Debit, value: "2002-11-01", booking: "2002-11-02",
			typeCode: "NSTO", bankRef: "55555", name: "MUELLER", acct: "234567", remittance: "Miete November"},
		{file: "wolph-mt940__cmxl_mt940.sta", stmt: 1, entry: 1, line: 38, amount: "3000", dir: Credit, value: "2002-11-02", booking: "2002-11-02",
			typeCode: "NTRF", bankRef: "55555", name: "MUELLER", acct: "0847564700", remittance: "Gehalt OktoberFirmaMustermannGmbH"},
		{file: "wolph-mt940__cmxl_mt940.sta", stmt: 0, entry: 1, line: 7, amount: "620.3", dir: Debit, value: "2013-10-17", booking: "2013-10-17",
			typeCode: "NSTO", custRef: "N", description: "999PN0911DAUERAUFTR.NR. 14"},
		{file: "jejik-mt940__knab.txt", stmt: 1, entry: 1, line: 19, amount: "500", dir: Credit, value: "2014-07-29", booking: "2014-07-29",
			typeCode: "NTRF", custRef: "29-07-2014 10:05", bankRef: "B4G29PGDCK1QFV3E"},
		{file: "php-mt940__Zetb_sample", line: 6, amount: "220000", dir: Credit, value: "2020-11-30", booking: "2020-11-30",
			bankRef: "19239782213", description: "11302020-TRANSFER-PAYROLL// TRF TO COZ INTERNET LTD SALARY (PAYROLL)"},
		{file: "php-mt940__Penta_sample", line: 6, amount: "20", dir: Debit, value: "2020-09-02", booking: "2020-09-02"},
		// CP852 (Hungarian) bytes, not UTF-8: read as Latin-1.
		{file: "wolph-mt940__raiffeisen-cmi.sta", line: 6, amount: "2066637", dir: Credit, value: "2018-04-17", booking: "2018-04-17",
			typeCode: "N527",
			description: "Csoportos \u00a0tutal\u00a0s j\u00a2v\u00a0\u00a1r\u00a0sa\nCAB18D1700041116\n109876543210000012345678\nHUNGARY KFT.\n" +
				"UV, napi \u0094sszevont ut\u00a0nv\u0082t, 2018.04\n.17, A13947109201804175000000097, X"},
		{file: "mt940-rs__MT940_DK_Example.sta", entry: 1, line: 15, amount: "2214", dir: Debit, value: "2009-10-01", booking: "2009-09-30",
			typeCode: "NCHG", custRef: "Gebyrer ifolge", bankRef: "nota", description: "Gebyrer ifolge nota"},
		{file: "php-mt940__Kontist_sample", entry: 1, line: 8, amount: "120", dir: Credit, value: "2021-02-15", booking: "2021-02-15",
			typeCode: "NTRF", name: "Lucien Schünke", acct: "DE77100110012629052284", remittance: "-"},
		{file: "php-mt940__Hsbc_sample", line: 5, amount: "20000", dir: Debit, value: "2012-03-29", booking: "2012-03-29",
			typeCode: "NTRF", custRef: "1004688128", bankRef: "6128522200250001"},
		{file: "jejik-mt940__postfinance.txt", line: 6, amount: "79.7", dir: Credit, value: "2013-12-09", booking: "2013-12-09",
			typeCode: "FMSC", custRef: "01916",
			description: "20131209007602198765432000000012\nGIRO AUS ONLINE-SIC 80532 AUFTRAGGEBER: JANE DOE EXAMPLESTRASSE\n 10 1234 XXXX 131209CH98765432 MITTEILUNGEN: RECHNUNG XXXXXXXXXXXX"},
		{file: "php-mt940__Bunq_sample", entry: 2, line: 12, amount: "34.5", dir: Debit, value: "2019-01-31", booking: "2019-01-31",
			typeCode: "NMSC", name: "www.thomann.de", remittance: "www.thomann.de Burgebrach, DE"},
		{file: "wolph-mt940__ASNB_mt940.txt", line: 6, amount: "65", dir: Debit, value: "2020-01-01", booking: "2020-01-01",
			typeCode: "NOVB", custRef: "NL47INGB9999999999",
			description: "hr gjlm paulissen\nNL47INGB9999999999 hr gjlm paulissen\n\nBetaling sieraden"},
		{file: "php-mt940__Kbs_sample2", entry: 6, line: 36, amount: "73700", dir: Credit, value: "2020-10-09", booking: "2020-10-09",
			typeCode: "NMSC", bankRef: "21051645"},
		{file: "php-mt940__Rabo_sample", stmt: 26, entry: 0, line: 221, amount: "1560395", dir: Credit, value: "2003-01-12", booking: "2003-01-12",
			typeCode: "NMSC", description: "YAN SO\nSEAFREIGHT DECEMBER 1999"},
		{file: "jejik-mt940__ing-dos.txt", entry: 2, line: 14, amount: "1.11", dir: Debit, value: "2010-07-22", booking: "2010-07-22",
			typeCode: "NGT", custRef: "TMG TANGO"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/%d/%d", tc.file, tc.stmt, tc.entry), func(t *testing.T) {
			t.Parallel()
			sts := mt940FixtureStatements(t, tc.file)
			require.Greater(t, len(sts), tc.stmt)
			require.Greater(t, len(sts[tc.stmt].Entries), tc.entry)
			e := sts[tc.stmt].Entries[tc.entry]
			require.Equal(t, tc.line, e.Pos.Line)
			require.True(t, decimal.RequireFromString(tc.amount).Equal(e.Amount), "amount %s", e.Amount)
			require.Equal(t, tc.dir, e.Direction)
			require.Equal(t, mt940Day(t, tc.value), e.ValueDate)
			require.Equal(t, mt940Day(t, tc.booking), e.BookingDate)
			require.Equal(t, StatusBooked, e.Status)
			require.Equal(t, tc.reversal, e.Reversal)
			require.Equal(t, tc.typeCode, e.TypeCode)
			require.Equal(t, tc.custRef, e.CustomerReference)
			require.Equal(t, tc.bankRef, e.BankReference)
			require.Equal(t, tc.e2e, e.EndToEndID)
			require.Equal(t, tc.name, e.CounterpartyName)
			require.Equal(t, tc.acct, e.CounterpartyAcct)
			require.Equal(t, tc.remittance, e.Remittance)
			if tc.description != "" {
				require.Equal(t, tc.description, e.Description)
			}
			require.Empty(t, e.Errors)
		})
	}
}

func TestMT940Statements(t *testing.T) {
	t.Parallel()
	balances := func(st *Statement) []string {
		var out []string
		for _, b := range st.Balances {
			out = append(out, fmt.Sprintf("%s %s %s %s", b.Type, b.Date.Format("2006-01-02"), b.Currency, b.Amount))
		}
		return out
	}

	t.Run("mt942", func(t *testing.T) {
		t.Parallel()
		st := mt940FixtureStatements(t, "wolph-mt940__mBank_mt942.sta")[0]
		require.Equal(t, FormatMT942, st.Format)
		require.Equal(t, "1/1", st.Sequence)
		require.Equal(t, time.Date(2017, 1, 19, 17, 15, 0, 0, time.UTC), *st.CreatedAt)
		require.Nil(t, st.Opening)
		require.Nil(t, st.Closing)
		require.Empty(t, st.Balances)
		require.Equal(t, 3, *st.StatedCount)
		require.True(t, st.StatedDebit.IsZero())
		require.Equal(t, "0.03", st.StatedCredit.String())
	})
	t.Run("stated totals per message", func(t *testing.T) {
		t.Parallel()
		sts, err := mt940Parse(t, mt940Msg(
			":20:A", ":25:1", ":34F:EUR0,", ":61:2301020102C1,5NTRF", ":61:2301020102D2,NTRF", ":90D:1EUR2,", ":90C:1EUR1,5", "-",
			":20:B", ":25:1", ":34F:EUR0,", ":61:2301020102C3,NTRF", ":90D:0EUR0,", ":90C:1EUR3,", "-"))
		require.NoError(t, err)
		require.Len(t, sts, 2)
		require.Equal(t, 2, *sts[0].StatedCount)
		require.Equal(t, "2", sts[0].StatedDebit.String())
		require.Equal(t, "1.5", sts[0].StatedCredit.String())
		require.Equal(t, 1, *sts[1].StatedCount)
		require.Equal(t, "0", sts[1].StatedDebit.String())
		require.Equal(t, "3", sts[1].StatedCredit.String())
		require.Equal(t, FormatMT942, sts[1].Format)
		require.Equal(t, "EUR", sts[1].Entries[0].Currency)
	})
	t.Run("ING /SUM/ totals and forward balances", func(t *testing.T) {
		t.Parallel()
		st := mt940FixtureStatements(t, "zilverline-mt940__mt940_iban.txt")[0]
		require.Equal(t, 21, *st.StatedCount)
		require.Equal(t, "14830.45", st.StatedDebit.String())
		require.Equal(t, "14640", st.StatedCredit.String())
		require.Equal(t, []string{"60F 2014-07-31 EUR 436.9", "62F 2014-08-25 EUR 246.45", "64 2014-08-25 EUR 246.45",
			"65 2014-08-26 EUR 246.45", "65 2014-08-27 EUR 246.45"}, balances(st))
		require.Equal(t, "60F", st.Opening.Type)
		require.Equal(t, "62F", st.Closing.Type)
	})
	t.Run("debit balances and intermediate messages", func(t *testing.T) {
		t.Parallel()
		sts := mt940FixtureStatements(t, "wolph-mt940__sepa_mt9401.sta")
		require.Equal(t, []string{"60F 2007-09-03 EUR -1234718.36", "62F 2007-09-04 EUR -1237628.23", "64 2007-09-04 EUR -1237628.23"}, balances(sts[0]))
		require.Equal(t, "T089414006000002", sts[7].ID)
		require.Equal(t, "00004/00002", sts[7].Sequence)
		require.Equal(t, "60M", sts[7].Opening.Type)
		require.Equal(t, "62M", sts[6].Closing.Type)
		require.Nil(t, sts[0].StatedCount)
	})
	t.Run("available and forward balances", func(t *testing.T) {
		t.Parallel()
		st := mt940FixtureStatements(t, "wolph-mt940__raiffeisen-cmi.sta")[0]
		require.Equal(t, []string{"60F 2018-04-17 HUF 25170637.1", "62F 2018-04-17 HUF 25281687.6", "64 2018-04-17 HUF 25281687.6",
			"65 2018-04-18 HUF 25281687.6", "65 2018-04-19 HUF 25281687.6", "65 2018-04-20 HUF 25281687.6"}, balances(st))
		require.Equal(t, "0072", st.Sequence)
	})
	t.Run("legacy decimal point and JPY", func(t *testing.T) {
		t.Parallel()
		sts := mt940FixtureStatements(t, "php-mt940__Rabo_sample")
		require.Equal(t, "1700.59.308", sts[24].Account.ID)
		require.Equal(t, []string{"60F 2003-01-06 JPY 0", "62F 2003-01-07 JPY -115351"}, balances(sts[24]))
	})
	t.Run("DOS end-of-file character before :20:", func(t *testing.T) {
		t.Parallel()
		sts := mt940FixtureStatements(t, "zilverline-mt940__two_accounts.txt")
		require.Equal(t, "940A121029", sts[3].ID)
		require.Equal(t, 23, sts[3].Pos.Line)
		require.Equal(t, "-12", sts[3].Opening.Amount.String())
	})
	t.Run("sequence and positions", func(t *testing.T) {
		t.Parallel()
		sts := mt940FixtureStatements(t, "jejik-mt940__abnamro.txt")
		require.Equal(t, "19321/1", sts[0].Sequence)
		require.Equal(t, 4, sts[0].Pos.Line)
		require.Equal(t, "19322/1", sts[1].Sequence)
		require.Equal(t, 32, sts[1].Pos.Line)
		require.Equal(t, "/1", mt940FixtureStatements(t, "php-mt940__Zetb_sample")[0].Sequence)
	})
}

// mt940Msg joins lines into an LF file.
func mt940Msg(lines ...string) []byte { return []byte(strings.Join(lines, "\n") + "\n") }

func TestMT940Dates(t *testing.T) {
	t.Parallel()
	sts, err := mt940Parse(t, mt940Msg(
		":20:DATES",
		":25:NL91ABNA0417164300",
		":60F:C491231EUR100,00",
		":61:2212310102C10,00NTRFREF1//BANK1",
		":61:2301021231D5,NTRFNONREF",
		":61:2402290229C1,NTRF",
		":61:5001010101D1,NTRF",
		":61:4912310101C1,NTRF",
		":62F:C500101EUR105,",
	))
	require.NoError(t, err)
	st := sts[0]
	require.Equal(t, mt940Day(t, "2049-12-31"), &st.Opening.Date)
	require.Equal(t, mt940Day(t, "1950-01-01"), &st.Closing.Date)
	want := [][2]string{
		{"2022-12-31", "2023-01-02"}, // booked in the new year
		{"2023-01-02", "2022-12-31"}, // booked in the old year
		{"2024-02-29", "2024-02-29"},
		{"1950-01-01", "1950-01-01"},
		{"2049-12-31", "2050-01-01"},
	}
	require.Len(t, st.Entries, len(want))
	for i, w := range want {
		require.Equal(t, mt940Day(t, w[0]), st.Entries[i].ValueDate, "entry %d", i)
		require.Equal(t, mt940Day(t, w[1]), st.Entries[i].BookingDate, "entry %d", i)
	}
	require.Equal(t, "REF1", st.Entries[0].CustomerReference)
	require.Equal(t, "BANK1", st.Entries[0].BankReference)
	require.Empty(t, st.Entries[1].CustomerReference)
	require.Equal(t, "5", st.Entries[1].Amount.String())
}

func TestMT940EntryErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line61 string
		errs   []string
		dir    Direction
	}{
		{"2212311231C1,2,3NTRFX", []string{`amount: "1,2,3" is not a valid amount`}, Credit},
		{"2212311231D,5NTRFX", []string{`amount: ",5" is not a valid amount`}, Debit},
		{"2212311231CNTRFX", []string{"amount is missing"}, Credit},
		{"2213311231C1,00NTRF", []string{`value date: "221331" is not a valid YYMMDD date`}, Credit},
		{"2212311332C1,00NTRF", []string{`entry date: "1332" is not a valid MMDD date`}, Credit},
		{"22123C1,00NTRF", []string{`value date: "22123" is not YYMMDD with an optional MMDD entry date`}, Credit},
		{"221231X1,00NTRF", []string{`debit/credit mark: "X" is not C, D, RC or RD`}, ""},
		{"221231EC1,00NTRF", []string{`debit/credit mark: "EC" is not C, D, RC or RD`}, ""},
		{"", []string{`value date: "" is not YYMMDD with an optional MMDD entry date`, `debit/credit mark: "" is not C, D, RC or RD`, "amount is missing"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.line61, func(t *testing.T) {
			t.Parallel()
			sts, err := mt940Parse(t, mt940Msg(
				":20:ERR", ":25:123456789", ":60F:C221231EUR0,",
				":61:"+tc.line61,
				":86:still handed over",
				":61:2212311231C2,NTRFOK",
				":62F:C221231EUR0,",
			))
			require.NoError(t, err)
			require.Len(t, sts[0].Entries, 2)
			e := sts[0].Entries[0]
			require.Equal(t, 4, e.Pos.Line)
			require.Equal(t, tc.errs, e.Errors)
			require.Equal(t, tc.dir, e.Direction)
			require.False(t, e.Amount.IsNegative())
			require.Equal(t, "still handed over", e.Description)
			require.Empty(t, sts[0].Entries[1].Errors)
			require.Equal(t, "OK", sts[0].Entries[1].CustomerReference)
		})
	}
}

func TestMT940Fatal(t *testing.T) {
	t.Parallel()
	head := []string{":20:REF", ":25:123456789", ":28C:1/1", ":60F:C221231EUR0,"}
	msg := func(lines ...string) []byte { return mt940Msg(append(append([]string{}, head...), lines...)...) }
	tests := []struct {
		name  string
		input []byte
		want  string
		// statements handed over before the error
		statements int
	}{
		{"entry before :20:", mt940Msg(":61:2212311231C1,NTRF"),
			"line 1: tag :61: outside a statement: no :20: before it", 0},
		{"entry before :25:", mt940Msg(":20:X", ":60F:C221231EUR0,", ":61:2212311231C1,NTRF"),
			"line 3: statement line :61: before the account :25: of the statement at line 1", 0},
		{"entry before :60:", mt940Msg(":20:X", ":25:1", ":61:2212311231C1,NTRF"),
			"line 3: statement line :61: before the opening balance :60F:/:60M: of the statement at line 1", 0},
		{"entry after :62:", msg(":62F:C221231EUR0,", ":61:2212311231C1,NTRF"),
			"line 6: statement line :61: after the closing balance :62: at line 5", 0},
		{"truncated: no :62:", msg(":61:2212311231C1,NTRF", ":86:cut here"),
			"line 6: statement :20: \"REF\" at line 1 ends without a closing balance :62F:/:62M: (truncated?)", 0},
		{"truncated before the next :20:", append(msg(":62F:C221231EUR0,"), mt940Msg(":20:NEXT", ":25:1", ":60F:C221231EUR0,", ":20:THIRD")...),
			"line 9: statement :20: \"NEXT\" at line 6 ends without a closing balance :62F:/:62M: (truncated?)", 1},
		{"truncated SWIFT block", append([]byte("{1:F01X}{2:I940X}{4:\n"), msg(":62F:C221231EUR0,")...),
			"line 6: file ends inside the SWIFT message opened at line 1 (no closing \"-}\"): truncated?", 0},
		{"SWIFT block not closed", append(append([]byte("{1:F01X}{2:I940X}{4:\n"), msg(":62F:C221231EUR0,")...), "{1:F01X}{2:I940X}{4:\n"...),
			"line 7: a new SWIFT message starts before the one opened at line 1 was closed with \"-}\"", 0},
		{"no opening balance", mt940Msg(":20:X", ":25:1", ":62F:C221231EUR0,", "-"),
			"line 4: statement :20: \"X\" at line 1 has no opening balance :60F:/:60M:", 0},
		{"no account", mt940Msg(":20:X", ":60F:C221231EUR0,", ":62F:C221231EUR0,", "-"),
			"line 4: statement :20: \"X\" at line 1 has no account :25:", 0},
		{"empty account", mt940Msg(":20:X", ":25: "),
			"line 2: account :25: is empty", 0},
		{"bad balance date", mt940Msg(":20:X", ":25:1", ":60F:C221330EUR0,"),
			"line 3: balance :60F: date \"221330\" is not a valid YYMMDD date", 0},
		{"bad balance amount", msg(":62F:C221231EUR1,0,0"),
			"line 5: balance :62F: amount \"1,0,0\" is not a valid amount", 0},
		{"bad balance mark", msg(":62F:X221231EUR1,00"),
			"line 5: balance :62F: debit/credit mark \"X\" is not C or D", 0},
		{"short balance", msg(":64:C2212"),
			"line 5: balance :64: \"C2212\" is too short for <C|D><YYMMDD><currency><amount>", 0},
		{"bad date-time", mt940Msg(":20:X", ":25:1", ":13D:2213011200+0100"),
			"line 3: date-time :13D: \"2213011200+0100\" is not YYMMDDHHMM[±HHMM]", 0},
		{"wrong :90D: count", mt940Msg(":20:X", ":25:1", ":34F:EUR0,", ":61:2212311231D6,NTRF", ":61:2212311231D1,NTRF", ":90D:1EUR7,", ":90C:0EUR0,", "-"),
			"line 6: :90D: states 1 debit(s) totalling 7 but the message has 2 totalling 7", 0},
		{"wrong :90C: sum", mt940Msg(":20:X", ":25:1", ":34F:EUR0,", ":61:2212311231C6,NTRF", ":90D:0EUR0,", ":90C:1EUR5,", "-"),
			"line 6: :90C: states 1 credit(s) totalling 5 but the message has 1 totalling 6", 0},
		{"bad :90D:", mt940Msg(":20:X", ":25:1", ":90D:EUR5,"),
			"line 3: total :90D: \"EUR5,\" is not <count><currency><amount>", 0},
		{"wrong /SUM/", msg(":61:2212311231D6,NTRF", ":62F:D221231EUR6,", ":86:/SUM/1/0/5,00/0,00/", "-"),
			"line 7: /SUM/ states 1 debit(s) totalling 5 but the message has 1 totalling 6", 0},
		{"bad /SUM/", msg(":62F:C221231EUR0,", ":86:/SUM/1/0/5,00/"),
			"line 6: totals \"/SUM/1/0/5,00/\" are not /SUM/debits/credits/debit sum/credit sum/", 0},
		{"line over 1 MiB", msg(":61:2212311231C1,NTRF", ":86:"+strings.Repeat("x", 1<<20)),
			"line 6: line 6 is longer than 1 MiB", 0},
		{"entry text over 1 MiB", msg(append([]string{":61:2212311231C1,NTRF", ":86:x"}, strings.Split(strings.Repeat(strings.Repeat("y", 1023)+"\n", 1025), "\n")...)...),
			"line 1031: the details of the statement line at line 5 are longer than 1 MiB", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sts, err := mt940Parse(t, tc.input)
			var se *Error
			require.ErrorAs(t, err, &se)
			require.Equal(t, tc.want, se.Error())
			require.Len(t, sts, tc.statements)
		})
	}
}

// mt942Generate builds a SWIFT-framed MT942 for account 1 with the given
// :61: amounts (negative for debits), stating statedDebits debits
// totalling statedDebit in :90D: and the true credit totals in :90C:.
func mt942Generate(id string, amounts []string, statedDebits int, statedDebit string) []byte {
	lines := []string{"{1:F01BANKDEFFXXXX0000000000}{2:O9421200230102BANKDEFFXXXX00000000002301021200N}{4:",
		":20:" + id, ":25:DE89370400440532013000", ":28C:1/1", ":34F:EUR0,", ":13D:2301021200+0100"}
	credits, credit := 0, decimal.Zero
	for i, a := range amounts {
		mark := "C"
		if strings.HasPrefix(a, "-") {
			mark, a = "D", a[1:]
		} else {
			credits++
			credit = credit.Add(decimal.RequireFromString(a))
		}
		lines = append(lines, ":61:2301020102"+mark+strings.Replace(a, ".", ",", 1)+"NTRFREF"+strconv.Itoa(i+1), ":86:entry "+strconv.Itoa(i+1))
	}
	lines = append(lines,
		":90D:"+strconv.Itoa(statedDebits)+"EUR"+strings.Replace(statedDebit, ".", ",", 1),
		":90C:"+strconv.Itoa(credits)+"EUR"+strings.Replace(credit.StringFixed(2), ".", ",", 1),
		"-}")
	return mt940Msg(lines...)
}

func TestMT940ControlMismatch(t *testing.T) {
	t.Parallel()
	// Message A (lines 1–15) states 1 debit of 5,00 in :90D: (line 13) for
	// its two debits of 6,00 and 1,00; message B (lines 16–28) adds up; an
	// ING-style MT940 (lines 29–37) states a /SUM/ (line 36) whose debit
	// total is wrong.
	in := append(mt942Generate("A", []string{"-6.00", "2.50", "-1.00"}, 1, "5.00"), mt942Generate("B", []string{"-4.00", "3.00"}, 1, "4.00")...)
	in = append(in, mt940Msg("{1:F01BANKNL2AXXXX0000000000}{2:I940BANKNL2AXXXXN}{4:", ":20:C", ":25:123456789", ":28C:1/1", ":60F:C221231EUR10,",
		":61:2212311231D6,NTRF", ":62F:C221231EUR4,", ":86:/SUM/1/0/5,00/0,00/", "-}")...)

	t.Run("strict: the first mismatch is fatal", func(t *testing.T) {
		t.Parallel()
		var entries int
		var ends []string
		err := ParseMT940(bytes.NewReader(in), Handler{
			Entry: func(*Statement, *Entry) error { entries++; return nil },
			End:   func(s *Statement) error { ends = append(ends, s.ID); return nil },
		})
		var se *Error
		require.ErrorAs(t, err, &se)
		require.Equal(t, "line 13: :90D: states 1 debit(s) totalling 5 but the message has 2 totalling 7", se.Error())
		require.Equal(t, 3, entries, "entries stream before the totals are checked")
		require.Empty(t, ends, "the statement of a bad total is not completed")
		// Same as ParseMT940With without a hook.
		err2 := ParseMT940With(bytes.NewReader(in), Handler{}, Options{})
		require.Equal(t, err.Error(), err2.Error())
	})
	t.Run("lenient: mismatches reported, everything read", func(t *testing.T) {
		t.Parallel()
		var got []string
		sts, err := Collect(func(r io.Reader, h Handler) error {
			return ParseMT940With(r, h, Options{ControlMismatch: func(e *Error) error {
				got = append(got, e.Error())
				return nil
			}})
		}, bytes.NewReader(in))
		require.NoError(t, err)
		require.Equal(t, []string{
			"line 13: :90D: states 1 debit(s) totalling 5 but the message has 2 totalling 7",
			"line 36: /SUM/ states 1 debit(s) totalling 5 but the message has 1 totalling 6",
		}, got)
		require.Len(t, sts, 3)
		var ids []string
		var lines [][]int
		for _, st := range sts {
			ids = append(ids, st.ID)
			var l []int
			for _, e := range st.Entries {
				l = append(l, e.Pos.Line)
			}
			lines = append(lines, l)
		}
		require.Equal(t, []string{"A", "B", "C"}, ids)
		require.Equal(t, [][]int{{7, 9, 11}, {22, 24}, {34}}, lines)
		a := sts[0]
		require.Equal(t, FormatMT942, a.Format)
		credit, debit, booked := Totals(a.Entries)
		require.Equal(t, 3, booked)
		require.Equal(t, "2.5", credit.String())
		require.Equal(t, "7", debit.String())
		// The stated totals are the file's, not the entries'.
		require.Equal(t, "5", a.StatedDebit.String())
		require.Equal(t, "2.5", a.StatedCredit.String())
		require.Equal(t, 2, *a.StatedCount)
		require.Equal(t, "4", sts[1].StatedDebit.String())
		require.Equal(t, 2, *sts[1].StatedCount)
		require.Equal(t, FormatMT940, sts[2].Format)
		require.Equal(t, "5", sts[2].StatedDebit.String())
		require.Equal(t, 1, *sts[2].StatedCount)
	})
	t.Run("hook returns ErrStop", func(t *testing.T) {
		t.Parallel()
		var ends, seen int
		err := ParseMT940With(bytes.NewReader(in), Handler{End: func(*Statement) error { ends++; return nil }},
			Options{ControlMismatch: func(*Error) error { seen++; return ErrStop }})
		require.NoError(t, err)
		require.Equal(t, 1, seen)
		require.Zero(t, ends)
	})
	t.Run("hook error returned as-is", func(t *testing.T) {
		t.Parallel()
		boom := errors.New("boom")
		err := ParseMT940With(bytes.NewReader(in), Handler{}, Options{ControlMismatch: func(*Error) error { return boom }})
		require.Same(t, boom, err)
	})
	t.Run("every mismatch of a message", func(t *testing.T) {
		t.Parallel()
		// Both :90D: and :90C: wrong.
		in := bytes.Replace(mt942Generate("D", []string{"-1.00", "2.00"}, 2, "1.00"), []byte(":90C:1EUR2,00"), []byte(":90C:1EUR3,00"), 1)
		var got []string
		sts, err := Collect(func(r io.Reader, h Handler) error {
			return ParseMT940With(r, h, Options{ControlMismatch: func(e *Error) error {
				got = append(got, e.Error())
				return nil
			}})
		}, bytes.NewReader(in))
		require.NoError(t, err)
		require.Equal(t, []string{
			"line 11: :90D: states 2 debit(s) totalling 1 but the message has 1 totalling 1",
			"line 12: :90C: states 1 credit(s) totalling 3 but the message has 1 totalling 2",
		}, got)
		require.Len(t, sts, 1)
		require.Len(t, sts[0].Entries, 2)
	})
}

func TestMT940TruncatedFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file  string
		lines int
		want  string
	}{
		// Cut inside the second message's :86:.
		{"jejik-mt940__volksbankenraiffeisenbanken.txt", 22,
			"line 22: statement :20: \"STARTUMS\" at line 16 ends without a closing balance :62F:/:62M: (truncated?)"},
		// Cut after the closing balance but before "-}".
		{"jejik-mt940__knab.txt", 21,
			"line 21: file ends inside the SWIFT message opened at line 11 (no closing \"-}\"): truncated?"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			lines := strings.SplitAfter(string(mt940ReadFixture(t, tc.file)), "\n")
			sts, err := mt940Parse(t, []byte(strings.Join(lines[:tc.lines], "")))
			var se *Error
			require.ErrorAs(t, err, &se)
			require.Equal(t, tc.want, se.Error())
			require.Len(t, sts, 1)
		})
	}
}

func TestMT940Framing(t *testing.T) {
	t.Parallel()
	body := ":20:F\r\n:25:NL91ABNA0417164300 EUR\r\n:28C:7\r\n:60F:C221231EUR1,\r\n:61:2212311231C1,NTRF\r\n:62F:C221231EUR2,\r\n"
	plain, err := mt940Parse(t, []byte(body+"-\r\n"))
	require.NoError(t, err)
	require.Len(t, plain, 1)
	require.Equal(t, "NL91ABNA0417164300", plain[0].Account.IBAN)
	require.Equal(t, "EUR", plain[0].Account.Currency)
	inputs := map[string]string{
		"LF":                  strings.ReplaceAll(body, "\r\n", "\n"),
		"CR":                  strings.ReplaceAll(body, "\r\n", "\r"),
		"block":               "{1:F01ABNANL2AXXXX0000000000}{2:I940ABNANL2AXXXXN}{4:\r\n" + body + "-}{5:{CHK:1}}\r\n",
		"block on own lines":  "\x01{1:F01ABNANL2AXXXX0000000000}\n{2:O940ABNANL2AXXXXN}\n{4:\n" + body + "-}\x03",
		"brace on its own":    "{1:F01ABNANL2AXXXX0000000000}{2:O940ABNANL2AXXXXN}{4:\n" + body + "-\n}\n{5:}\n",
		"bank header":         "ABNANL2A\n940\nABNANL2A\n" + body + "-\n",
		"preamble and dashes": "This is an example\n\n-----------\n-\n" + body + "-\n\n",
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sts, err := mt940Parse(t, []byte(in))
			require.NoError(t, err)
			require.Len(t, sts, 1)
			require.Equal(t, plain[0].Entries[0].Amount.String(), sts[0].Entries[0].Amount.String())
			require.Equal(t, plain[0].Account, sts[0].Account)
			require.Equal(t, plain[0].Closing.Amount.String(), sts[0].Closing.Amount.String())
		})
	}

	t.Run("several messages on one line of framing", func(t *testing.T) {
		t.Parallel()
		sts, err := mt940Parse(t, []byte("{1:F01X}{2:I942X}{4:\n:20:A\n:25:1\n:13D:2301021200+0100\n:61:2301020102C1,NTRF\n:90C:1EUR1,\n"+
			"-}\x03\x01{1:F01X}{2:I940X}{4:\n:20:B\n:25:1\n:62F:C230102EUR1,\n-}"))
		// The second message is an MT940 by its header but has no :60:.
		var se *Error
		require.ErrorAs(t, err, &se)
		require.Equal(t, `line 11: statement :20: "B" at line 8 has no opening balance :60F:/:60M:`, se.Error())
		require.Len(t, sts, 1)
		require.Equal(t, FormatMT942, sts[0].Format)
		require.Equal(t, time.Date(2023, 1, 2, 11, 0, 0, 0, time.UTC), *sts[0].CreatedAt)
		// Only :90C: is stated: no count of all entries, no debit total.
		require.Nil(t, sts[0].StatedCount)
		require.Nil(t, sts[0].StatedDebit)
		require.Equal(t, "1", sts[0].StatedCredit.String())
	})

	t.Run("Latin-1", func(t *testing.T) {
		t.Parallel()
		sts, err := mt940Parse(t, mt940Msg(":20:L", ":25:1", ":60F:C221231EUR0,", ":61:2212311231C1,NTRF", ":86:Caf\xe9 \xc3\xa9t\xe9", ":62F:C221231EUR1,"))
		require.NoError(t, err)
		// A line that is not UTF-8 is read as Latin-1 as a whole.
		require.Equal(t, "Café Ã©té", sts[0].Entries[0].Description)
	})

	t.Run("account forms", func(t *testing.T) {
		t.Parallel()
		for in, want := range map[string]Account{
			"DABADKKK/1234567890":                {ID: "1234567890", Servicer: "DABADKKK"},
			"25040066/0123456789":                {ID: "0123456789", Servicer: "25040066"},
			"UBRTHUHB/123456789150ABCDEF002/HUF": {ID: "123456789150ABCDEF002", Servicer: "UBRTHUHB", Currency: "HUF"},
			"NL68INGB0000012345EUR":              {ID: "NL68INGB0000012345", IBAN: "NL68INGB0000012345", Currency: "EUR"},
			"3462.483.153 EUR":                   {ID: "3462.483.153", Currency: "EUR"},
			"4324567-0000081EUR":                 {ID: "4324567-0000081", Currency: "EUR"},
			"808XXXXXX292":                       {ID: "808XXXXXX292"},
			"ACCOUNT/ABC":                        {ID: "ACCOUNT/ABC"},
			"1234ABC":                            {ID: "1234ABC"},
		} {
			require.Equal(t, want, mt940Account(in), in)
		}
	})
}

func TestMT940Handler(t *testing.T) {
	t.Parallel()
	data := mt940ReadFixture(t, "wolph-mt940__sepa_mt9401.sta")

	t.Run("ErrStop from Entry", func(t *testing.T) {
		t.Parallel()
		n := 0
		err := ParseMT940(bytes.NewReader(data), Handler{Entry: func(*Statement, *Entry) error {
			n++
			if n == 3 {
				return ErrStop
			}
			return nil
		}})
		require.NoError(t, err)
		require.Equal(t, 3, n)
	})
	t.Run("ErrStop from End", func(t *testing.T) {
		t.Parallel()
		var ids []string
		entries := 0
		err := ParseMT940(bytes.NewReader(data), Handler{
			Entry: func(*Statement, *Entry) error { entries++; return nil },
			End: func(s *Statement) error {
				ids = append(ids, s.ID)
				if len(ids) == 2 {
					return ErrStop
				}
				return nil
			}})
		require.NoError(t, err)
		require.Equal(t, []string{"T089413946000001", "T089413956000001"}, ids)
		require.Equal(t, 9, entries)
	})
	t.Run("other errors as-is", func(t *testing.T) {
		t.Parallel()
		boom := errors.New("boom")
		err := ParseMT940(bytes.NewReader(data), Handler{End: func(*Statement) error { return boom }})
		require.Same(t, boom, err)
		err = ParseMT940(bytes.NewReader(data), Handler{Entry: func(*Statement, *Entry) error { return boom }})
		require.Same(t, boom, err)
	})
	t.Run("entries see the statement so far", func(t *testing.T) {
		t.Parallel()
		err := ParseMT940(bytes.NewReader(data), Handler{Entry: func(s *Statement, e *Entry) error {
			require.NotNil(t, s.Opening)
			require.Nil(t, s.Closing)
			require.Equal(t, "EUR", e.Currency)
			return nil
		}})
		require.NoError(t, err)
	})
	t.Run("reader error", func(t *testing.T) {
		t.Parallel()
		err := ParseMT940(io.MultiReader(bytes.NewReader(data[:100]), mt940FailingReader{}), Handler{})
		var se *Error
		require.ErrorAs(t, err, &se)
		require.Contains(t, se.Error(), "disk on fire")
	})
}

type mt940FailingReader struct{}

func (mt940FailingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func FuzzMT940(f *testing.F) {
	files, err := filepath.Glob(filepath.Join(mt940FixtureDir(), "*"))
	require.NoError(f, err)
	for _, p := range files {
		data, err := os.ReadFile(p)
		require.NoError(f, err)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, lenient := range []bool{false, true} {
			mt940FuzzOne(t, data, lenient)
		}
	})
}

func mt940FuzzOne(t *testing.T, data []byte, lenient bool) {
	opt := Options{}
	if lenient {
		opt.ControlMismatch = func(e *Error) error {
			require.Positive(t, e.Pos.Line)
			return nil
		}
	}
	var ended []*Statement
	err := ParseMT940With(bytes.NewReader(data), Handler{
		Entry: func(s *Statement, e *Entry) error {
			require.NotNil(t, s)
			require.False(t, e.Amount.IsNegative(), "negative amount at line %d", e.Pos.Line)
			require.Positive(t, e.Pos.Line)
			if len(e.Errors) == 0 {
				require.Contains(t, []Direction{Credit, Debit}, e.Direction)
			}
			return nil
		},
		End: func(s *Statement) error {
			ended = append(ended, s)
			return nil
		},
	}, opt)
	if err != nil {
		var se *Error
		require.ErrorAs(t, err, &se)
		require.Positive(t, se.Pos.Line)
	}
	for _, s := range ended {
		require.NotEmpty(t, s.Account.ID)
	}
}

// mt940BenchInput builds statements of perLine :61:/:86: pairs, German and
// Dutch style alternately.
func mt940BenchInput(statements, perStatement int) []byte {
	var b bytes.Buffer
	balance := decimal.New(1000000, 0)
	for s := range statements {
		fmt.Fprintf(&b, ":20:BENCH%06d\n:25:DE89370400440532013000\n:28C:%05d/001\n:60F:C230101EUR%s\n", s, s+1, strings.Replace(balance.StringFixed(2), ".", ",", 1))
		for i := range perStatement {
			cents := int64(100 + (s*perStatement+i)%99900)
			amt := strings.Replace(decimal.New(cents, -2).StringFixed(2), ".", ",", 1)
			if i%2 == 0 {
				balance = balance.Add(decimal.New(cents, -2))
				fmt.Fprintf(&b, ":61:2301020102C%sNTRFREF%d//B%d\n/OCMT/EUR%s/\n", amt, i, i, amt)
				fmt.Fprintf(&b, ":86:166?00GUTSCHRIFT?109310?20EREF+E2E-%d-%d?21SVWZ+Invoice %d of customer\n?22 number 4711?30COBADEFFXXX?31DE02120300000000202051?32Example GmbH\n", s, i, i)
			} else {
				balance = balance.Sub(decimal.New(cents, -2))
				fmt.Fprintf(&b, ":61:2301020102D%sNDDTNONREF//B%d\n", amt, i)
				fmt.Fprintf(&b, ":86:/EREF/E2E-%d-%d//CNTP/NL91ABNA0417164300/ABNANL2A/Supplier BV///REMI/USTD//Invoice %d\n thank you/\n", s, i, i)
			}
		}
		fmt.Fprintf(&b, ":62F:%s230102EUR%s\n-\n", map[bool]string{true: "C", false: "D"}[!balance.IsNegative()], strings.Replace(balance.Abs().StringFixed(2), ".", ",", 1))
	}
	return b.Bytes()
}

func BenchmarkMT940(b *testing.B) {
	data := mt940BenchInput(100, 1000)
	b.SetBytes(int64(len(data)))
	n := 0
	for b.Loop() {
		err := ParseMT940(bytes.NewReader(data), Handler{Entry: func(*Statement, *Entry) error { n++; return nil }})
		if err != nil {
			b.Fatal(err)
		}
	}
	if n%100000 != 0 {
		b.Fatalf("parsed %d entries", n)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "entries/s")
}

// A :86: of many tiny subfields and keywords must parse in linear time.
func TestMT940ManySubfields(t *testing.T) {
	t.Parallel()
	info := "166?00X" + strings.Repeat("?20EREF+x ?21SVWZ+y?32n?31a?38i", 25000)
	start := time.Now()
	sts, err := mt940Parse(t, mt940Msg(":20:M", ":25:1", ":60F:C221231EUR0,", ":61:2212311231C1,NTRF", ":86:"+info, ":62F:C221231EUR1,"))
	require.NoError(t, err)
	require.Less(t, time.Since(start), 20*time.Second)
	e := sts[0].Entries[0]
	require.Equal(t, "x", e.EndToEndID)
	require.True(t, strings.HasPrefix(e.Remittance, "y y y"))
	require.Len(t, e.CounterpartyName, 25000)
}

// Many balances in one statement: Opening and Closing must keep pointing
// into Balances as it grows, in linear time.
func TestMT940ManyBalances(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	b.WriteString(":20:B\n:25:1\n:60F:C221231EUR7,\n")
	for range 100000 {
		b.WriteString(":65:C230101EUR8,\n")
	}
	b.WriteString(":62F:C221231EUR7,\n:64:C221231EUR9,\n")
	sts, err := mt940Parse(t, b.Bytes())
	require.NoError(t, err)
	st := sts[0]
	require.Len(t, st.Balances, 100003)
	require.Same(t, &st.Balances[0], st.Opening)
	require.Same(t, &st.Balances[100001], st.Closing)
	require.Equal(t, "7", st.Opening.Amount.String())
	ok, stated, _ := Reconciles(st)
	require.True(t, ok)
	require.True(t, stated)
}
