"""The job runner: `thread.Worker` leases and runs jobs; `process.WorkerProcess` runs one in a child process."""
