"""Game days: a runbook on the timeline, a control channel (notes, gates, abort from anywhere),
a live dashboard in the browser, Prometheus metrics, and a retrospective."""
