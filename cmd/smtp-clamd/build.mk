# smtp-clamd links no library of its own; its fuzz harness takes its
# objects (fuzz/fuzz.mk).
FUZZ_CMD_clamd = smtp-clamd
