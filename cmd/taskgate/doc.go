// Command taskgate is the taskgate manager: the admission webhooks, the
// policy loader and the reconcilers in one binary. Its flags are copied into
// manager.Options; nothing below cmd/ reads flags.
package main
