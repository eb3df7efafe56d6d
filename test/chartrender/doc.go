// Package chartrender runs the pinned helm (tools/go.mod) and reads what it
// renders, for the tests of the chart: those that need no cluster
// (test/chart), those that dry-run it against one (test/e2e), and those
// that install it (test/chartinstall).
package chartrender
