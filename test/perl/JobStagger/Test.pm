# Helpers for the job_stagger TAP tests (PostgreSQL::Test::Cluster based).
package JobStagger::Test;

use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

our @EXPORT = qw(new_js_node wait_for query_row sleep_until_second);

# A node that preloads job_stagger with the metadata database 'postgres', the
# extension created; extra postgresql.conf lines in $opts{conf}.
sub new_js_node
{
	my ($name, %opts) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(%{ $opts{init} // {} });
	$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'job_stagger'
job_stagger.database_name = 'postgres'
max_worker_processes = 48
timezone = 'UTC'
log_min_messages = info
} . ($opts{conf} // ''));
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION job_stagger') unless $opts{no_extension};
	return $node;
}

# Polls a boolean query (bounded by the TAP default timeout) and records a test.
sub wait_for
{
	my ($node, $sql, $what) = @_;
	ok($node->poll_query_until('postgres', $sql), $what)
	  or diag("gave up waiting for: $sql");
}

# One row of a query as a list of columns.
sub query_row
{
	my ($node, $sql) = @_;
	return split(/\|/, $node->safe_psql('postgres', $sql));
}

# Sleeps until the wall clock is just past the given fraction of a second,
# so a test step lands well inside a second and not on its boundary.
sub sleep_until_second
{
	my ($fraction) = @_;
	my $now = Time::HiRes::time();
	my $target = int($now) + 1 + $fraction;
	usleep(int(($target - $now) * 1_000_000));
}

1;
