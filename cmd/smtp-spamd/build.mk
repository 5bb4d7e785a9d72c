# smtp-spamd links no library of its own; its fuzz harness takes its
# objects (fuzz/fuzz.mk).
FUZZ_CMD_spamd = smtp-spamd
