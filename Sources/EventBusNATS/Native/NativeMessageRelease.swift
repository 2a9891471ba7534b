import CNats

/// Frees a message the bus owns, on the calling thread.
///
/// `natsMsg_Destroy` queues every message for nats.c's garbage-collector thread and wakes that
/// thread whenever it sleeps: a futex wake and a context switch for most of the three messages
/// each event costs (published, PubAck, consumed), and every free on another thread than the one
/// that allocated. Only for messages nats.c no longer refers to: handed out by `NextMsg` or to
/// the PubAck callback, never one it still holds.
func releaseNativeMessage(_ message: OpaquePointer) {
    natsMsg_free(UnsafeMutableRawPointer(message))
}
