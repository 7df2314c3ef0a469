"""Cases -> wire: the bounded, masked, read-only HTTP client and the target it talks to."""
