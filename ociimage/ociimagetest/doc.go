// Package ociimagetest provides helpers for testing code that builds images
// with ociimage: it builds a Spec, reads an image's layer or any tarball
// back as comparable entries, and reads a docker-archive back as the digest
// under each tag, each failing the test on an error, as net/http/httptest
// does for HTTP.
//
// It may import only ociimage and the standard library; product code must
// not import it.
package ociimagetest
