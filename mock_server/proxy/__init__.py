"""The validating proxy: forwarding to an upstream, checking each exchange against the
contract, and recording what passed through."""
