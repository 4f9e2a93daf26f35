"""Where cells run: each in its own process, locally or as Ray tasks, with live progress (the runner)."""
