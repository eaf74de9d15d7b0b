package sim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
)

// maxFaultsBody bounds a PUT /faults body.
const maxFaultsBody = 1 << 20

// Handler is the control endpoint:
//
//	POST /cutover?center=cardnet|cafis  run a cutover now → {"center","date"} (+ "error")
//	GET  /faults                        the rules in force (JSON)
//	PUT  /faults                        replace them (YAML or JSON body)
//	GET  /totals                        {"totals":[{center,date,credits_count,...,current}]}
//	GET  /stats                         {"cardnet_bad_mac":N,"mac":bool}
//	GET  /healthz                       "ok"
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /cutover", s.httpCutover)
	mux.HandleFunc("GET /faults", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Faults())
	})
	mux.HandleFunc("PUT /faults", s.httpSetFaults)
	mux.HandleFunc("GET /totals", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"totals": s.AllTotals()})
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "ok\n")
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func (s *Sim) httpCutover(w http.ResponseWriter, r *http.Request) {
	center := r.URL.Query().Get("center")
	if center == "" {
		center = CenterCardnet
	}
	ctx := r.Context()
	date, err := s.TriggerCutoverCenter(ctx, center)
	resp := map[string]string{"center": center, "date": date}
	code := http.StatusOK
	switch {
	case err == nil:
	case errors.Is(err, ErrUnknownCenter):
		code = http.StatusBadRequest
	case errors.Is(err, ErrNotRunning):
		code = http.StatusNotFound
	case errors.Is(err, ErrNotSignedOn), errors.Is(err, ErrCutoverTimeout):
		// The date moved; the daemon did not take part. Reported, not failed.
		code = http.StatusAccepted
	default:
		code = http.StatusInternalServerError
	}
	if err != nil {
		resp["error"] = err.Error()
	}
	writeJSON(w, code, resp)
}

func (s *Sim) httpSetFaults(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxFaultsBody+1))
	if err == nil && len(b) > maxFaultsBody {
		err = errors.New("body too large")
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	fs, err := ParseFaults(b)
	if err == nil {
		err = s.SetFaults(fs)
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"faults": fs.Faults, "installed": s.opts.Clock.Now().UTC()})
}
