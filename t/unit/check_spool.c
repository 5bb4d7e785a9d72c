/* The message spool: an unlinked file, one read-write and one read-only
 * descriptor on the same bytes. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"

static char dir[64];

static void make_dir(void)
{
    strcpy(dir, "/tmp/check_spool.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static int entries(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    int n = 0;
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

START_TEST(test_open_leaves_nothing_on_disk)
{
    struct spool s;
    struct stat st;
    make_dir();
    ck_assert_int_eq(spool_open(&s, dir), 0);
    ck_assert_int_eq(entries(dir), 0);
    ck_assert_int_eq(fstat(s.fd_rw, &st), 0);
    ck_assert_uint_eq(st.st_nlink, 0);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_both_descriptors_see_the_same_bytes)
{
    struct spool s;
    char got[64];
    make_dir();
    ck_assert_int_eq(spool_open(&s, dir), 0);
    ck_assert_int_eq(write(s.fd_rw, "Subject: x\r\n\r\nhi\r\n", 18), 18);
    ck_assert_int_eq(read(s.fd_ro, got, sizeof got), 18);
    ck_assert_mem_eq(got, "Subject: x\r\n\r\nhi\r\n", 18);
    /* later writes are seen too */
    ck_assert_int_eq(write(s.fd_rw, "more", 4), 4);
    ck_assert_int_eq(read(s.fd_ro, got, sizeof got), 4);
    ck_assert_mem_eq(got, "more", 4);
    rmdir(dir);
}
END_TEST

START_TEST(test_read_only_descriptor_cannot_write)
{
    struct spool s;
    make_dir();
    ck_assert_int_eq(spool_open(&s, dir), 0);
    errno = 0;
    ck_assert_int_eq(write(s.fd_ro, "x", 1), -1);
    ck_assert_int_eq(errno, EBADF);
    ck_assert_int_eq(fcntl(s.fd_ro, F_GETFL) & O_ACCMODE, O_RDONLY);
    ck_assert_int_eq(fcntl(s.fd_rw, F_GETFL) & O_ACCMODE, O_RDWR);
    errno = 0;
    ck_assert_int_eq(ftruncate(s.fd_ro, 0), -1);
    rmdir(dir);
}
END_TEST

START_TEST(test_descriptors_are_close_on_exec)
{
    struct spool s;
    make_dir();
    ck_assert_int_eq(spool_open(&s, dir), 0);
    ck_assert(fcntl(s.fd_rw, F_GETFD) & FD_CLOEXEC);
    ck_assert(fcntl(s.fd_ro, F_GETFD) & FD_CLOEXEC);
    ck_assert_int_ne(s.fd_rw, s.fd_ro);
    rmdir(dir);
}
END_TEST

START_TEST(test_reset_empties_it)
{
    struct spool s;
    struct stat st;
    char got[64];
    make_dir();
    ck_assert_int_eq(spool_open(&s, dir), 0);
    ck_assert_int_eq(write(s.fd_rw, "first message body", 18), 18);
    ck_assert_int_eq(spool_reset(&s), 0);
    ck_assert_int_eq(fstat(s.fd_ro, &st), 0);
    ck_assert_int_eq(st.st_size, 0);
    ck_assert_int_eq(lseek(s.fd_rw, 0, SEEK_CUR), 0);
    /* the next message starts at offset 0, without a hole or old bytes */
    ck_assert_int_eq(write(s.fd_rw, "two", 3), 3);
    ck_assert_int_eq(lseek(s.fd_ro, 0, SEEK_SET), 0);
    ck_assert_int_eq(read(s.fd_ro, got, sizeof got), 3);
    ck_assert_mem_eq(got, "two", 3);
    rmdir(dir);
}
END_TEST

START_TEST(test_open_in_missing_directory_fails)
{
    struct spool s;
    errno = 0;
    ck_assert_int_eq(spool_open(&s, "/nonexistent/check_spool"), -1);
    ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(test_open_with_over_long_directory_fails)
{
    static char longdir[5000];
    struct spool s;
    memset(longdir, 'd', sizeof longdir - 1);
    longdir[0] = '/';
    errno = 0;
    ck_assert_int_eq(spool_open(&s, longdir), -1);
    ck_assert_int_eq(errno, ENAMETOOLONG);
}
END_TEST

START_TEST(test_two_spools_are_independent)
{
    struct spool a, b;
    char got[16];
    make_dir();
    ck_assert_int_eq(spool_open(&a, dir), 0);
    ck_assert_int_eq(spool_open(&b, dir), 0);
    ck_assert_int_eq(write(a.fd_rw, "AAA", 3), 3);
    ck_assert_int_eq(write(b.fd_rw, "B", 1), 1);
    ck_assert_int_eq(read(a.fd_ro, got, sizeof got), 3);
    ck_assert_mem_eq(got, "AAA", 3);
    ck_assert_int_eq(read(b.fd_ro, got, sizeof got), 1);
    ck_assert_mem_eq(got, "B", 1);
    ck_assert_int_eq(entries(dir), 0);
    rmdir(dir);
}
END_TEST

static Suite *spool_suite(void)
{
    Suite *s = suite_create("spool");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_open_leaves_nothing_on_disk);
    tcase_add_test(tc, test_both_descriptors_see_the_same_bytes);
    tcase_add_test(tc, test_read_only_descriptor_cannot_write);
    tcase_add_test(tc, test_descriptors_are_close_on_exec);
    tcase_add_test(tc, test_reset_empties_it);
    tcase_add_test(tc, test_open_in_missing_directory_fails);
    tcase_add_test(tc, test_open_with_over_long_directory_fails);
    tcase_add_test(tc, test_two_spools_are_independent);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(spool_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
