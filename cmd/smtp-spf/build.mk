# smtp-spf asks DNS through lib/dns.c on c-ares (LIBCARES: see
# cmd/smtp-dnscheck/build.mk): static with musl.
LDLIBS_smtp-spf = $(LIBCARES)
