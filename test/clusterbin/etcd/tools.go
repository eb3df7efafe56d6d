//go:build tools

// Package etcd pins the etcd server that backs the local test cluster.
package etcd

import _ "go.etcd.io/etcd/server/v3"
