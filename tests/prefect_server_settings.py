"""Settings of the suite's Prefect servers (the harness and the end-to-end stacks).

Read before Prefect is imported: nothing here imports it.
"""

#: Task runs are recorded in batches (Prefect's default writes each state event in its own
#: transaction): 100 task runs cost a server 2.0 s of CPU instead of 4.7 s, and recording
#: them is about two thirds of what the suite's servers spend on flow work. A run's task
#: runs reach the database within the flush interval (1 s) instead of at once: a test that
#: reads them waits for them.
TASK_RUN_RECORDER_BATCHES = {
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "25",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_READ_BATCH_SIZE": "25",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "1",
}
