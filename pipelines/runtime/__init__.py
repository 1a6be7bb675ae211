"""Running the night: the steps the DAGs call, embedded Airflow, alerts, timing, progress."""
