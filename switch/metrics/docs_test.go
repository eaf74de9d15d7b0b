package metrics

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"gopkg.in/yaml.v3"
)

// The operator documents live in docs/ at the module root; these tests keep
// them in step with what the package exports.
var docsDir = filepath.Join("..", "..", "docs")

// exported returns every series name a fully recorded Metrics exposes,
// histograms expanded to _bucket, _sum and _count, taken from the registry
// itself rather than from a hand-kept list.
func exported(t *testing.T) (names map[string]bool, families []string) {
	t.Helper()
	m := newMetrics(t)
	m.Request("cardnet", "sale", "approved", time.Millisecond)
	m.CenterRoundTrip("cardnet", time.Millisecond)
	m.Reconnect("cardnet", "127.0.0.1:7700")
	m.WALSync(8, time.Millisecond)
	m.SetStateFunc(func() State {
		return State{Centers: []CenterState{{Name: "cardnet", BusinessDate: "20261123", Lines: []LineState{{Addr: "127.0.0.1:7700"}}}}}
	})
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	names = map[string]bool{}
	for _, mf := range mfs {
		n := mf.GetName()
		names[n] = true
		if strings.HasPrefix(n, "fxswitch_") {
			families = append(families, n)
		}
		if mf.GetType() == dto.MetricType_HISTOGRAM || mf.GetType() == dto.MetricType_SUMMARY {
			names[n+"_bucket"], names[n+"_sum"], names[n+"_count"] = true, true, true
		}
	}
	return names, families
}

// scrapeSeries are series that Prometheus itself adds to every target.
var scrapeSeries = map[string]bool{"up": true}

var (
	promQLString   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	promQLMatchers = regexp.MustCompile(`\{[^}]*\}`)
	promQLRange    = regexp.MustCompile(`\[[^\]]*\]`)
	promQLGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promQLToken    = regexp.MustCompile(`[0-9][0-9A-Za-z_.]*|[A-Za-z_:][A-Za-z0-9_:]*\s*\(?`)
	promQLKeywords = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true,
		"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true, "inf": true, "nan": true}
)

// metricNames returns the series names a PromQL expression selects: what
// is left once strings, label matchers, ranges, grouping clauses,
// function names, keywords and numbers are taken out.
func metricNames(expr string) []string {
	s := promQLString.ReplaceAllString(expr, `""`)
	s = promQLMatchers.ReplaceAllString(s, " ")
	s = promQLRange.ReplaceAllString(s, " ")
	s = promQLGrouping.ReplaceAllString(s, " ")
	var out []string
	for _, tok := range promQLToken.FindAllString(s, -1) {
		if tok[0] >= '0' && tok[0] <= '9' || strings.HasSuffix(tok, "(") {
			continue
		}
		tok = strings.TrimSpace(tok)
		if !promQLKeywords[strings.ToLower(tok)] {
			out = append(out, tok)
		}
	}
	return out
}

func TestMetricNamesOfPromQL(t *testing.T) {
	for expr, want := range map[string][]string{
		`up{job="fxd"} == 0`: {"up"},
		`max by (instance, center) (fxswitch_line_state) < 3 and on (instance, center) fxswitch_center_signed_on == 1`:        {"fxswitch_line_state", "fxswitch_center_signed_on"},
		`histogram_quantile(0.99, sum by (le) (rate(fxswitch_wal_sync_duration_seconds_bucket{instance=~"a|b"}[5m]))) > 0.01`: {"fxswitch_wal_sync_duration_seconds_bucket"},
		`changes(process_start_time_seconds{job="fxd"}[10m]) > 0`:                                                             {"process_start_time_seconds"},
		`sum(rate(x_sum[$__rate_interval])) / sum(rate(x_count[1m] offset 5m))`:                                               {"x_sum", "x_count"},
	} {
		if got := metricNames(expr); !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", expr, got, want)
		}
	}
}

// checkExpr fails when expr selects a series the package does not export,
// or selects none at all.
func checkExpr(t *testing.T, where, expr string, names map[string]bool) {
	t.Helper()
	got := metricNames(expr)
	if len(got) == 0 {
		t.Errorf("%s: expression selects no series: %s", where, expr)
	}
	for _, n := range got {
		if !names[n] && !scrapeSeries[n] {
			t.Errorf("%s: %s is not exported (expression %s)", where, n, expr)
		}
	}
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func TestAlertRules(t *testing.T) {
	names, _ := exported(t)
	raw, err := os.ReadFile(filepath.Join(docsDir, "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true) // a misspelt key would be ignored by Prometheus too
	if err := dec.Decode(&rf); err != nil {
		t.Fatalf("alerts.yaml: %v", err)
	}
	ops, err := os.ReadFile(filepath.Join(docsDir, "OPERATIONS.md"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, g := range rf.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("group %q: needs a name and rules", g.Name)
		}
		for _, r := range g.Rules {
			if r.Alert == "" || r.Record != "" {
				t.Errorf("group %s: every rule is an alert: %+v", g.Name, r)
				continue
			}
			if seen[r.Alert] {
				t.Errorf("alert %s defined twice", r.Alert)
			}
			seen[r.Alert] = true
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for %q: %v", r.Alert, r.For, err)
				}
			}
			if s := r.Labels["severity"]; s != "critical" && s != "warning" {
				t.Errorf("%s: severity %q, want critical or warning", r.Alert, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: summary and description annotations are required", r.Alert)
			}
			// Every alert has a runbook section of its own, and the
			// section exists (GitHub's anchor of "### Name" is "#name").
			rb := r.Annotations["runbook"]
			if rb != "OPERATIONS.md#"+strings.ToLower(r.Alert) || !regexp.MustCompile(`(?m)^### `+r.Alert+`$`).Match(ops) {
				t.Errorf("%s: runbook %q: want OPERATIONS.md#%s and a section \"### %s\" there", r.Alert, rb, strings.ToLower(r.Alert), r.Alert)
			}
			checkExpr(t, "alert "+r.Alert, r.Expr, names)
		}
	}
	// The rules the operators asked for (issue "Observability and operations").
	for _, a := range []string{"FxswitchLineDown", "FxswitchNoSignedOnLine", "FxswitchRecoveryRequired", "FxswitchOutOfBalance",
		"FxswitchAdviceBacklog", "FxswitchLatencyP99OverBudget", "FxswitchWALSyncSlow"} {
		if !seen[a] {
			t.Errorf("alert %s missing", a)
		}
	}
}

type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID      int    `json:"id"`
	Type    string `json:"type"`
	Title   string `json:"title"`
	GridPos struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

var labelValues = regexp.MustCompile(`^label_values\((\w+),\s*(\w+)\)$`)

func TestGrafanaDashboard(t *testing.T) {
	names, families := exported(t)
	raw, err := os.ReadFile(filepath.Join(docsDir, "grafana", "fxswitch.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("fxswitch.json: %v", err)
	}
	if d.UID == "" || d.Title == "" || d.SchemaVersion == 0 || len(d.Panels) == 0 {
		t.Fatalf("dashboard lacks uid, title, schemaVersion or panels")
	}
	ids := map[int]bool{}
	used := map[string]bool{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if ids[p.ID] {
				t.Errorf("panel id %d used twice", p.ID)
			}
			ids[p.ID] = true
			if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
				t.Errorf("panel %q: grid position %+v", p.Title, p.GridPos)
			}
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				checkExpr(t, "panel "+p.Title, tg.Expr, names)
				for _, n := range metricNames(tg.Expr) {
					used[strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_sum"), "_count")] = true
				}
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		m := labelValues.FindStringSubmatch(v.Definition)
		if m == nil || !names[m[1]] {
			t.Errorf("variable %s: %q is not label_values over an exported series", v.Name, v.Definition)
		}
	}
	// Every fxswitch series is on the dashboard.
	for _, f := range families {
		if !used[f] {
			t.Errorf("%s is on no panel", f)
		}
	}
}

// Every exported fxswitch series is described in doc.go and in the
// operator's metrics table.
func TestMetricsDocumented(t *testing.T) {
	_, families := exported(t)
	if len(families) < 20 {
		t.Fatalf("only %d fxswitch families exported", len(families))
	}
	for _, file := range []string{"doc.go", filepath.Join(docsDir, "OPERATIONS.md")} {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			if !regexp.MustCompile(`\b` + f + `\b`).Match(raw) {
				t.Errorf("%s does not describe %s", file, f)
			}
		}
	}
}
