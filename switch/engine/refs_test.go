package engine

import "testing"

func TestRefFilter(t *testing.T) {
	var f refFilter
	if !f.mayHave("", "R1") {
		t.Fatal("an incomplete filter must send every reference to the WAL")
	}
	f.add("", "R1") // ignored while incomplete
	f.reset()
	if f.mayHave("", "R1") {
		t.Fatal("a new date has no references")
	}
	f.add("", "R1")
	f.add("pos", "R2")
	if !f.mayHave("", "R1") || !f.mayHave("pos", "R2") || f.mayHave("", "R2") || f.mayHave("pos", "R1") {
		t.Fatal("references are per app")
	}
	f.reset()
	if f.mayHave("", "R1") {
		t.Fatal("reset forgets the previous date")
	}
}
