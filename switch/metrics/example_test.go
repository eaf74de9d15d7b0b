package metrics_test

import (
	"bufio"
	"fmt"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/fxswitch/fxswitch/switch/metrics"
)

// The daemon builds one Metrics at start, records on its hot path, hands
// the state to the gauges, and serves Handler on the admin listener.
func Example() {
	m, err := metrics.New(metrics.Options{NoRuntimeMetrics: true})
	if err != nil {
		panic(err)
	}
	defer m.Close()

	// Hot path: one call per answered request, per center response, per WAL sync.
	m.Request("cardnet", "sale", "approved", 1200*time.Microsecond)
	m.CenterRoundTrip("cardnet", 900*time.Microsecond)
	m.WALSync(64, 350*time.Microsecond)

	// Read once per scrape (the daemon converts its status with StateFromStatus).
	m.SetStateFunc(func() metrics.State {
		return metrics.State{Centers: []metrics.CenterState{{
			Name: "cardnet", SignedOn: true, BusinessDate: "20261123", InFlight: 3,
			LastReconciliation: metrics.ReconciliationInBalance,
			Lines:              []metrics.LineState{{Addr: "127.0.0.1:7700", State: metrics.LineSignedOn, InFlight: 3}},
		}}}
	})

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		line := sc.Text()
		for _, name := range []string{"fxswitch_requests_total{", "fxswitch_in_flight{", "fxswitch_line_state{",
			"fxswitch_business_date{", "fxswitch_reconciliation_result{", "fxswitch_wal_records_per_sync_sum"} {
			if strings.HasPrefix(line, name) {
				fmt.Println(line)
			}
		}
	}
	// Output:
	// fxswitch_business_date{center="cardnet"} 2.0261123e+07
	// fxswitch_in_flight{center="cardnet"} 3
	// fxswitch_line_state{center="cardnet",line="127.0.0.1:7700"} 3
	// fxswitch_reconciliation_result{center="cardnet"} 1
	// fxswitch_requests_total{center="cardnet",op="sale",result="approved"} 1
	// fxswitch_wal_records_per_sync_sum 64
}
