/*
 * stagger-ctl: libpq connection, error classification and extension checks
 * (see ctl_conn.hpp).
 */
#include "ctl_conn.hpp"

#include <termios.h>
#include <unistd.h>

#include <iostream>

namespace js::ctl {

namespace {

/* Type OIDs (pg_type.dat) whose values psql right-aligns. */
bool
IsNumericType(Oid type)
{
	switch (type) {
	case 20:   /* int8 */
	case 21:   /* int2 */
	case 23:   /* int4 */
	case 26:   /* oid */
	case 700:  /* float4 */
	case 701:  /* float8 */
	case 790:  /* money */
	case 1700: /* numeric */
		return true;
	default:
		return false;
	}
}

std::string
Trim(const std::string &text)
{
	std::string::size_type first = text.find_first_not_of(" \t\n");
	if (first == std::string::npos)
		return {};
	return text.substr(first, text.find_last_not_of(" \t\n") - first + 1);
}

bool
Contains(const std::string &text, const char *part)
{
	return text.find(part) != std::string::npos;
}

/* Reads a password from the terminal without echo, as psql does when the server asks for one. */
std::string
PromptPassword(const std::string &user)
{
	std::cerr << "Password for user " << user << ": " << std::flush;
	termios saved{};
	bool restore = tcgetattr(STDIN_FILENO, &saved) == 0;
	if (restore) {
		termios quiet = saved;
		quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	std::string password;
	std::getline(std::cin, password);
	if (restore)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
	std::cerr << '\n';
	return password;
}

PGconn *
TryConnect(const ConnectParams &params, const std::optional<std::string> &password)
{
	/* Later keywords override what an expanded dbname connection string sets. */
	std::vector<const char *> keys{"fallback_application_name"};
	std::vector<const char *> values{"stagger-ctl"};
	auto add = [&](const char *key, const std::string &value) {
		if (!value.empty()) {
			keys.push_back(key);
			values.push_back(value.c_str());
		}
	};
	add("dbname", params.dbname);
	add("host", params.host);
	add("port", params.port);
	add("user", params.user);
	if (password)
		add("password", *password);
	keys.push_back(nullptr);
	values.push_back(nullptr);
	return PQconnectdbParams(keys.data(), values.data(), 1);
}

std::string
ServerLocation(PGconn *conn)
{
	std::string host = PQhost(conn) != nullptr ? PQhost(conn) : "";
	std::string port = PQport(conn) != nullptr ? PQport(conn) : "";
	if (!host.empty() && host[0] == '/')
		return "locally with its socket in \"" + host + "\" on port " + port;
	return "on host \"" + host + "\" port " + port;
}

/*
 * Turns a failed connection into a specific error. libpq gives no SQLSTATE for
 * connection failures, so this reads its (English) message; anything not
 * recognised still gets libpq's text and the server-running hint.
 */
[[noreturn]] void
ThrowConnectError(PGconn *conn)
{
	std::string message = Trim(PQerrorMessage(conn));
	std::string user = PQuser(conn) != nullptr ? PQuser(conn) : "";
	std::string db = PQdb(conn) != nullptr ? PQdb(conn) : "";
	if (Contains(message, "password authentication failed") || Contains(message, "authentication failed for user"))
		throw CtlError(kExitServer, "authentication failed for user \"" + user + "\"", message,
		               "Check the password (PGPASSWORD, ~/.pgpass or password= in the connection string) and "
		               "pg_hba.conf.");
	if (Contains(message, "no password supplied"))
		throw CtlError(kExitServer, "the server asks for a password for user \"" + user + "\" and none was given",
		               message, "Set PGPASSWORD, add it to ~/.pgpass, or run stagger-ctl on a terminal to be asked.");
	if (Contains(message, "no pg_hba.conf entry"))
		throw CtlError(kExitServer, "the server does not accept this connection (pg_hba.conf)", message,
		               "Add a pg_hba.conf line for user \"" + user + "\" and database \"" + db + "\", then reload.");
	if (Contains(message, "database \"") && Contains(message, "does not exist"))
		throw CtlError(kExitServer, "database \"" + db + "\" does not exist", message,
		               "The jobs live in the database named by job_stagger.database_name (default postgres); "
		               "pass it with -d.");
	if (Contains(message, "role \"") && Contains(message, "does not exist"))
		throw CtlError(kExitServer, "role \"" + user + "\" does not exist", message,
		               "Connect as another user: PGUSER, or user= in the connection string.");
	throw CtlError(kExitServer, "cannot connect to the server", message,
	               "Is the server running " + ServerLocation(conn) + "?");
}

} // namespace

Cell
Result::GetCell(int row, int col) const
{
	if (IsNull(row, col))
		return std::nullopt;
	return Get(row, col);
}

int
Result::Column(const std::string &name) const
{
	return PQfnumber(res_.get(), ("\"" + name + "\"").c_str());
}

Table
Result::ToTable() const
{
	Table table;
	for (int c = 0; c < Columns(); c++)
		table.AddColumn(ColumnName(c), IsNumericType(PQftype(res_.get(), c)));
	for (int r = 0; r < Rows(); r++) {
		std::vector<Cell> row;
		for (int c = 0; c < Columns(); c++)
			row.push_back(GetCell(r, c));
		table.AddRow(std::move(row));
	}
	return table;
}

Connection
Connection::Open(const ConnectParams &params)
{
	std::optional<std::string> password;
	for (;;) {
		PGconn *raw = TryConnect(params, password);
		if (raw == nullptr)
			throw CtlError(kExitServer, "out of memory while connecting");
		Connection conn(raw);
		if (PQstatus(raw) == CONNECTION_OK)
			return conn;
		/* Ask once, only on a terminal and only when the server wanted a password we did not have. */
		if (PQconnectionNeedsPassword(raw) && !password && isatty(STDIN_FILENO)) {
			password = PromptPassword(PQuser(raw));
			continue;
		}
		ThrowConnectError(raw);
	}
}

Result
Connection::Exec(const std::string &sql, const std::vector<std::string> &params)
{
	bool denied = false;
	return Run(sql, params, false, &denied);
}

std::optional<Result>
Connection::ExecIfAllowed(const std::string &sql, const std::vector<std::string> &params)
{
	bool denied = false;
	Result result = Run(sql, params, true, &denied);
	if (denied)
		return std::nullopt;
	return result;
}

/*
 * Maps a server error to an exit code: lost connections, resource and
 * operator problems, missing privileges and missing extension objects (an
 * older extension) are server problems (3), anything else is an SQL error (4).
 */
Result
Connection::Run(const std::string &sql, const std::vector<std::string> &params, bool permission_ok, bool *denied)
{
	std::vector<const char *> values;
	for (const std::string &param : params)
		values.push_back(param.c_str());
	PGresult *raw = PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
	                             nullptr, nullptr, 0);
	Result result(raw);
	ExecStatusType status = PQresultStatus(raw);
	if (raw != nullptr && (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK))
		return result;
	if (raw == nullptr || PQstatus(conn_.get()) == CONNECTION_BAD)
		throw CtlError(kExitServer, "lost the connection to the server", Trim(PQerrorMessage(conn_.get())),
		               "Is the server still running? Check its log.");

	auto field = [&](int code) {
		const char *value = PQresultErrorField(raw, code);
		return value != nullptr ? std::string(value) : std::string();
	};
	std::string sqlstate = field(PG_DIAG_SQLSTATE);
	if (sqlstate == "42501" && permission_ok) {
		*denied = true;
		return result;
	}
	std::string hint = field(PG_DIAG_MESSAGE_HINT);
	ExitCode code = kExitOther;
	std::string cls = sqlstate.substr(0, 2);
	if (cls == "08" || cls == "53" || cls == "57" || cls == "58")
		code = kExitServer;
	if (sqlstate == "42501") {
		code = kExitServer;
		if (hint.empty())
			hint = "Connect as a superuser (-U postgres), or have one grant user \"" + User() + "\" the privilege.";
	}
	if (sqlstate == "42883" || sqlstate == "42P01" || sqlstate == "42703") {
		code = kExitServer;
		if (hint.empty())
			hint = "The job_stagger extension in database \"" + Database() +
			       "\" may be older than this stagger-ctl: ALTER EXTENSION job_stagger UPDATE.";
	}
	throw CtlError(code, field(PG_DIAG_MESSAGE_PRIMARY), field(PG_DIAG_MESSAGE_DETAIL), hint);
}

void
Connection::RequireExtension(const std::vector<std::string> &functions, const std::vector<std::string> &relations)
{
	auto array = [](const std::vector<std::string> &names) {
		std::string text = "{";
		for (const std::string &name : names)
			text += (text.size() > 1 ? ",\"" : "\"") + name + "\"";
		return text + "}";
	};
	Result res = Exec(R"sql(
		SELECT e.extversion,
		       (SELECT string_agg(f || '()', ', ') FROM unnest($1::text[]) f
		         WHERE NOT EXISTS (SELECT FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		                            WHERE CASE WHEN f LIKE '%.%' THEN n.nspname = split_part(f, '.', 1)
		                                       AND p.proname = split_part(f, '.', 2)
		                                       ELSE p.proname = f END)),
		       (SELECT string_agg(r, ', ') FROM unnest($2::text[]) r WHERE to_regclass(r) IS NULL),
		       current_setting('job_stagger.database_name', true),
		       EXISTS (SELECT FROM pg_settings WHERE name = 'job_stagger.database_name')
		  FROM (SELECT) one LEFT JOIN pg_extension e ON e.extname = 'job_stagger')sql",
	                  {array(functions), array(relations)});
	std::string db = Database();
	if (res.IsNull(0, 0)) {
		std::string home = res.IsNull(0, 3) ? std::string() : res.Get(0, 3);
		std::string hint =
		    !home.empty() && home != db
		        ? "The jobs live in database \"" + home + "\" (job_stagger.database_name): -d " + home + "."
		        : "As a superuser: psql -d " + db + " -c 'CREATE EXTENSION job_stagger'.";
		throw CtlError(kExitServer,
		               "job_stagger is not installed in database \"" + db + "\": run CREATE EXTENSION job_stagger", {},
		               hint);
	}
	/*
	 * Without the preload the library refuses to load (it defines server-start
	 * settings) and would end our session at the first call into it. A preloaded
	 * library defines its settings in every backend; a mere placeholder (a
	 * job_stagger.* line in postgresql.conf) is not listed in pg_settings.
	 */
	if (!res.GetBool(0, 4))
		throw CtlError(kExitServer, "no scheduler is running: job_stagger is not in shared_preload_libraries", {},
		               "Add job_stagger to shared_preload_libraries in postgresql.conf and restart the server.");
	std::string missing =
	    res.IsNull(0, 1) ? res.Get(0, 2) : res.Get(0, 1) + (res.IsNull(0, 2) ? "" : ", " + res.Get(0, 2));
	if (!missing.empty())
		throw CtlError(kExitServer, "job_stagger " + res.Get(0, 0) + " in database \"" + db + "\" lacks " + missing,
		               "The installed extension is older than this stagger-ctl.",
		               "Install the new job_stagger, then: ALTER EXTENSION job_stagger UPDATE.");
}

} // namespace js::ctl
