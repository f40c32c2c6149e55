"""Load against the stack: labeled payloads and request streams."""
