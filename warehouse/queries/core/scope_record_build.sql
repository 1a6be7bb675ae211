-- A successful layer build: its scope and what it compared (audit.layer_builds).
INSERT INTO audit.layer_builds VALUES (?, ?, ?, ?, ?, ?, ?, current_timestamp)
