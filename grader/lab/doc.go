// Package lab is what hidden specs use to observe a student's program the way
// a network engineer would: it starts programs in the sandbox's network
// namespace, waits until their LISTEN socket appears in the kernel's socket
// table, and reads what the kernel did: counter deltas, accept-queue depth
// against the backlog limit, socket states, and per-process threads, RSS and
// open file descriptors.
//
// Every helper a spec needs exists here once; specs never reach for /proc or
// netlink themselves. Timeouts are scaled by WIRELAB_TIMEOUT_SCALE (see Scaled)
// so that a slow machine can stretch them all at once.
package lab
