"""Measurement that knows nothing of models: latency and memory trackers, speed-ups with
intervals, machine load, hardware and environment."""
