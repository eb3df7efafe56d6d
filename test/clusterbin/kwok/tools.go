//go:build tools

// Package kwok pins kwok, which simulates the local test cluster's nodes and
// drives its pods through their lifecycle.
package kwok

import _ "sigs.k8s.io/kwok/cmd/kwok"
