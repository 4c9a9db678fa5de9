/*
 * stagger-ctl: the libpq connection and query results. Every failure becomes
 * a CtlError with the exit code and the hint a user needs: connection problems
 * are told apart (server down, credentials, missing database), and SQL errors
 * carry the server's message, detail and hint.
 */
#pragma once

#include "ctl_error.hpp"
#include "ctl_table.hpp"

#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace js::ctl {

/* Where to connect; empty fields fall back to the PG* environment and libpq's defaults, as in psql. */
struct ConnectParams {
	std::string dbname; /* -d: a database name, a key=value connection string or a URI */
	std::string host;   /* -h */
	std::string port;   /* -p */
	std::string user;   /* -U */
};

/* A query result that owns its PGresult. Values are text, as libpq returns them. */
class Result {
public:
	explicit Result(PGresult *res) : res_(res, PQclear) {}

	int
	Rows() const
	{
		return PQntuples(res_.get());
	}
	int
	Columns() const
	{
		return PQnfields(res_.get());
	}
	bool
	IsNull(int row, int col) const
	{
		return PQgetisnull(res_.get(), row, col) != 0;
	}
	std::string
	Get(int row, int col) const
	{
		return PQgetvalue(res_.get(), row, col);
	}
	Cell GetCell(int row, int col) const;
	std::string
	ColumnName(int col) const
	{
		return PQfname(res_.get(), col);
	}
	int Column(const std::string &name) const; /* -1 if absent */
	/* "t"/"f" as bool; NULL as false. */
	bool
	GetBool(int row, int col) const
	{
		return !IsNull(row, col) && Get(row, col) == "t";
	}

	/* The whole result as a table; numeric columns right-aligned. */
	Table ToTable() const;

private:
	std::unique_ptr<PGresult, void (*)(PGresult *)> res_;
};

class Connection {
public:
	/*
	 * Connects like psql (-h, -p and -U override what a connection string in
	 * -d says). Prompts for a password on a terminal when the server asks.
	 */
	static Connection Open(const ConnectParams &params);

	/* Runs one statement with text parameters ($1, $2, ...); throws CtlError on any error. */
	Result Exec(const std::string &sql, const std::vector<std::string> &params = {});
	/* As Exec, but a permission error (42501) gives std::nullopt instead. */
	std::optional<Result> ExecIfAllowed(const std::string &sql, const std::vector<std::string> &params = {});

	std::string
	Database() const
	{
		return PQdb(conn_.get());
	}
	std::string
	User() const
	{
		return PQuser(conn_.get());
	}

	/*
	 * Makes sure job_stagger is installed in this database and that the given
	 * functions (names, schema-qualified or not) and relations exist, else a
	 * CtlError(kExitServer) that says what to do.
	 */
	void RequireExtension(const std::vector<std::string> &functions, const std::vector<std::string> &relations);

private:
	explicit Connection(PGconn *conn) : conn_(conn, PQfinish) {}
	Result Run(const std::string &sql, const std::vector<std::string> &params, bool permission_ok, bool *denied);

	std::unique_ptr<PGconn, void (*)(PGconn *)> conn_;
};

} // namespace js::ctl
