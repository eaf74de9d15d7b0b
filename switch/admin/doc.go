// Package admin is fxd's admin HTTP listener (DESIGN §5, off by default,
// `--admin ADDR` / `admin:` in fxd.yaml): Prometheus metrics and the health
// probes of an orchestrator or load balancer.
//
//	GET /metrics   200  Prometheus text format (Options.Metrics, package metrics)
//	GET /healthz   200  "ok\n" while the process can run a handler (liveness)
//	GET /readyz    200  {"ready":true,"reasons":[]}
//	               503  {"ready":false,"reasons":["cardnet: no signed-on line, 0 of 2 lines", ...]}
//
// Readiness (Options.Ready, usually ReadyFromStatus over the engine's status)
// means the switch can take business now: the WAL is open and healthy, the
// daemon is not shutting down, no center requires recovery (リカバリ処理),
// and every configured center has at least one signed-on line.
//
// # Invariants
//
//   - /healthz depends on nothing but the process: a center being down must
//     not make an orchestrator restart fxd (a restart would only add a
//     recovery).
//   - /readyz fails closed: no Ready function, a panicking one, "ready" with
//     reasons, all answer 503. The body always has a reasons array (empty
//     when ready), at most 64 entries plus one "and N more".
//   - Only GET (and HEAD) on the three paths; anything else is 404 or 405.
//   - Every connection is bounded by ReadHeaderTimeout, ReadTimeout,
//     WriteTimeout, IdleTimeout and MaxHeaderBytes; promhttp serves at most
//     4 scrapes at once.
//   - Serve returns nil once its context ends and running requests have
//     finished (at most ShutdownTimeout), an error if the listener fails.
//     Nothing here writes to the WAL or the centers: the admin port is
//     read-only.
package admin
