"""A sweep directory → answers: trials and the best one, summaries, kept checkpoints, export and model
cards. Reads only the directory (local, NFS or S3), so it works without the cluster that ran the sweep."""
