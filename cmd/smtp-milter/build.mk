# smtp-milter links nothing beyond lib/; its fuzz harness takes its
# objects (fuzz/fuzz.mk).
FUZZ_CMD_milter = smtp-milter
