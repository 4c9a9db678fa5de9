# The per-backend job cache behind new-job offsets and collision notices sees
# what other sessions commit (and, with a role switch, only what the role may
# see), so a long-lived session never places a job on a taken second.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use JobStagger::Test;

my $node = new_js_node('cache');
my $a = $node->background_psql('postgres');
my $b = $node->background_psql('postgres');
$_->query_safe('SET client_min_messages = warning') for ($a, $b);

# Session A loads its cache; B adds jobs; A's next job must avoid B's seconds.
$a->query_safe(q{SELECT stagger_schedule('a1', '* * * * *', 'SELECT 1', active => true)});
is($a->query_safe(q{SELECT offset_seconds FROM job_stagger.jobs WHERE job_name = 'a1'}), '30', 'first job at :30');
$b->query_safe(q{SELECT stagger_schedule('b1', '* * * * *', 'SELECT 1', 15)});
$b->query_safe(q{SELECT stagger_schedule('b2', '* * * * *', 'SELECT 1', 45)});
$a->query_safe(q{SELECT stagger_schedule('a2', '* * * * *', 'SELECT 1')});
my $a2 = $a->query_safe(q{SELECT offset_seconds FROM job_stagger.jobs WHERE job_name = 'a2'});
ok($a2 != 15 && $a2 != 45 && $a2 != 30, "A's next job avoids what B committed meanwhile (got $a2)");
$a->query_safe(q{SET job_stagger.enabled = on});
is($a->query_safe(q{SELECT count(*) FROM stagger_collisions()}), '0', 'collision-free with staggering on');

# A job B commits after A last looked is seen at A's next check.
$b->query_safe(q{BEGIN; SELECT stagger_schedule('b3', '* * * * *', 'SELECT 1', 11)});
$a->query_safe(q{SELECT stagger_schedule('a3', '* * * * *', 'SELECT 1')});
$b->query_safe(q{COMMIT});
$a->query_safe(q{SELECT stagger_schedule('a4', '* * * * *', 'SELECT 1')});
is($a->query_safe(q{SELECT count(*) FROM job_stagger.jobs WHERE job_name = 'a4' AND offset_seconds = 11}), '0',
	'a job B committed after A looked is seen at A\'s next check');

# A NOTICE in A names B's job when A collides with it.
$a->query_safe('SET client_min_messages = notice');
$a->query(q{SELECT stagger_set_offset('a1', 15)});
like($a->{stderr}, qr/job "a1" \(offset 15\) fires in the same second as "b1"/,
	'collision notice names the other session\'s job');
$a->quit;

# Row-level security: as a plain role, only its own jobs count (and are named).
$node->safe_psql('postgres', q{CREATE ROLE plain LOGIN; GRANT USAGE ON SCHEMA job_stagger TO plain});
$a = $node->background_psql('postgres');
$a->query_safe('SET client_min_messages = warning');
$a->query_safe(q{SELECT count(*) FROM stagger_collisions()}); # loads the cache as the superuser
$a->query_safe(q{SET ROLE plain});
$a->query_safe(q{SELECT stagger_schedule('p1', '* * * * *', 'SELECT 1')});
is($a->query_safe(q{SELECT offset_seconds FROM job_stagger.jobs WHERE job_name = 'p1'}), '30',
	'a role sees only its own jobs (its first job goes to :30 again)');
$a->query_safe(q{RESET ROLE});

$a->quit;
$b->quit;
$node->stop;
done_testing();
