// Package message fits what taskgate tells people into the room they
// have: admission warnings, which kubectl shows well under 120
// characters, and the status fields the CRDs bound by maxLength.
//
// It owns the one truncate of the product. It is a leaf: it imports no
// package of taskgate, so policy, inherit and the reconcilers can all use
// it.
package message
