# smtp-tls links OpenSSL, which Debian builds for glibc only: it is a host
# program (the host compiler, dynamic, the host build of lib/), never musl.
# Only a STARTTLS pays for it; smtp-proxyd and smtp-forward stay static
# and never load OpenSSL (see INSTALL).
HOST_PROGRAMS += smtp-tls
LDLIBS_smtp-tls = $(shell pkg-config --libs openssl 2>/dev/null || echo -lssl -lcrypto)
