//go:build race

package engine

// raceEnabled: the race detector slows the simulation about sevenfold, so
// TestDST runs fewer schedules by default (make test runs a longer
// non-race pass too).
const raceEnabled = true
