#!/usr/bin/perl
# Validates META.json against the PGXN Meta Spec 1.0.0 (required keys, types,
# SemVer versions, license names, prereq phases) and checks that it agrees
# with job_stagger.control and the files it names. Uses only core Perl.
#
# Usage: perl test/check_meta.pl [repo root]. Prints one line per failed check
# and "meta: N checks, M failed"; exits 1 if any failed.
use strict;
use warnings;
use JSON::PP;

my $root = shift // '.';
my ($checks, @failures) = (0);

sub check {
	my ($ok, $what) = @_;    # callers pass regex matches in scalar context
	die "check() takes two arguments at line " . (caller)[2] . "\n" unless @_ == 2;
	$checks++;
	push @failures, $what unless $ok;
	return $ok;
}

sub slurp {
	my ($path) = @_;
	open my $fh, '<', $path or return undef;
	local $/;
	return <$fh>;
}

my $semver = qr/^(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;
my $term = qr/^[^\s\/\\:]{2,}$/;
my %licenses = map { $_ => 1 } qw(agpl_3 apache_1_1 apache_2_0 artistic_1 artistic_2 bsd freebsd
  gfdl_1_2 gfdl_1_3 gpl_1 gpl_2 gpl_3 lgpl_2_1 lgpl_3_0 mit mozilla_1_0 mozilla_1_1 openssl perl_5
  postgresql qpl_1_0 ssleay sun zlib open_source restricted unrestricted unknown);
my %known = map { $_ => 1 } qw(name abstract description version maintainer license provides
  prereqs release_status resources no_index tags generated_by meta-spec);

my $text = slurp("$root/META.json");
check(defined $text, 'META.json is readable') or finish();
my $meta = eval { JSON::PP->new->decode($text) };
check(ref $meta eq 'HASH', "META.json is a JSON object" . ($@ ? ": $@" : '')) or finish();

for my $key (qw(name abstract version maintainer license provides meta-spec)) {
	check(exists $meta->{$key}, "required key '$key' is present");
}
for my $key (sort keys %$meta) {
	check($known{$key} || scalar($key =~ /^x_/i), "key '$key' is defined by the spec (or starts with x_)");
}
check(scalar(($meta->{name} // '') =~ $term), 'name is a term (2+ characters, no space, slash or colon)');
check(scalar(($meta->{version} // '') =~ $semver), "version '" . ($meta->{version} // '') . "' is SemVer");
check(!ref $meta->{abstract} && length($meta->{abstract} // '') > 0, 'abstract is a non-empty string');

my $m = $meta->{maintainer};
check((!ref $m && length($m // '')) || (ref $m eq 'ARRAY' && @$m && !grep { ref || !length } @$m),
	'maintainer is a string or a non-empty list of strings');

my $l = $meta->{license};
check((!ref $l && $licenses{$l // ''})
	  || (ref $l eq 'ARRAY' && @$l && !grep { !$licenses{$_} } @$l)
	  || (ref $l eq 'HASH' && %$l && !grep { ref || !/^https?:/ } values %$l),
	'license names a spec license (or maps names to URLs)');

my $spec = $meta->{'meta-spec'};
check(ref $spec eq 'HASH' && ($spec->{version} // '') eq '1.0.0', 'meta-spec version is 1.0.0');

my $provides = $meta->{provides};
if (check(ref $provides eq 'HASH' && scalar(%$provides), 'provides is a non-empty object')) {
	for my $ext (sort keys %$provides) {
		my $p = $provides->{$ext};
		check(scalar($ext =~ $term), "provides key '$ext' is a term");
		next unless check(ref $p eq 'HASH', "provides.$ext is an object");
		check(defined $p->{file} && -f "$root/$p->{file}", "provides.$ext.file exists");
		check(scalar(($p->{version} // '') =~ $semver), "provides.$ext.version is SemVer");
		check(!defined $p->{docfile} || -f "$root/$p->{docfile}", "provides.$ext.docfile exists");
	}
}

if (exists $meta->{release_status}) {
	check(scalar(($meta->{release_status} // '') =~ /^(?:stable|testing|unstable)$/),
		'release_status is stable, testing or unstable');
}
if (exists $meta->{tags}) {
	check(ref $meta->{tags} eq 'ARRAY' && !grep({ ref || !length } @{ $meta->{tags} }),
		'tags is a list of strings');
}
if (exists $meta->{prereqs}) {
	my $ok = ref $meta->{prereqs} eq 'HASH';
	for my $phase (keys %{ $ok ? $meta->{prereqs} : {} }) {
		$ok &&= $phase =~ /^(configure|build|test|runtime|develop)$/ && ref $meta->{prereqs}{$phase} eq 'HASH';
		for my $rel (keys %{ $ok ? $meta->{prereqs}{$phase} : {} }) {
			$ok &&= $rel =~ /^(requires|recommends|suggests|conflicts)$/;
			$ok &&= !grep { !/^(0|$semver)$/ } values %{ $meta->{prereqs}{$phase}{$rel} };
		}
	}
	check($ok, 'prereqs: known phases and relationships, SemVer versions');
}

# Agreement with the control file: default_version X.Y is the distribution's X.Y.0.
my $control = slurp("$root/job_stagger.control") // '';
my ($default) = $control =~ /^default_version\s*=\s*'([^']+)'/m;
check(defined $default, 'job_stagger.control has a default_version');
check(defined $default && ($meta->{version} // '') eq "$default.0",
	"META.json version matches default_version '" . ($default // '') . "' (as X.Y.0)");
check(($provides->{job_stagger}{version} // '') eq ($meta->{version} // ''),
	'provides.job_stagger.version is the distribution version');
check(defined $default && -f "$root/sql/job_stagger--$default.sql" || _upgrade_path($default),
	'an install script or an upgrade path reaches default_version');

finish();

# True if sql/ holds a base script and upgrade scripts that chain to $target.
sub _upgrade_path {
	my ($target) = @_;
	return 0 unless defined $target;
	my %edges;
	for my $f (glob "$root/sql/job_stagger--*--*.sql") {
		$edges{$1}{$2} = 1 if $f =~ /job_stagger--([^-]+)--([^-]+)\.sql$/;
	}
	my @todo = map { /job_stagger--([^-]+)\.sql$/ ? $1 : () } glob "$root/sql/job_stagger--*.sql";
	my %seen;
	while (defined(my $v = shift @todo)) {
		return 1 if $v eq $target;
		next if $seen{$v}++;
		push @todo, keys %{ $edges{$v} || {} };
	}
	return 0;
}

sub finish {
	print "META.json: $_\n" for map { "FAILED: $_" } @failures;
	printf "meta: %d checks, %d failed\n", $checks, scalar @failures;
	exit(@failures ? 1 : 0);
}
