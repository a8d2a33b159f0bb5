"""Time units of the store: event times are nanoseconds since the epoch; rollup buckets seconds."""

NS = 1_000_000_000
MINUTE_NS = 60 * NS
HOUR_NS = 3600 * NS
