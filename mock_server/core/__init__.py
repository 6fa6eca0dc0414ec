"""The bottom layer: what every other layer may use and which uses none of them.

The clock, id minting, the JSON codec, time formats, the fidelity table, settings, the
spec files, and the base of every API error with the errors of no single domain."""
