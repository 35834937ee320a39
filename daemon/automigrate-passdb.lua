-- automigrate's Lua passdb for Dovecot: the same first-login decision as the checkpassword
-- helper, asked of the running daemon over its first-login socket (firstLogin.socket). For
-- Dovecot 2.4, which has no checkpassword passdb, and 2.3 with dovecot-auth-lua. Needs
-- LuaSocket's Unix sockets (Debian: lua-socket). Uses only what both versions offer:
-- auth_password_verify(req, password), auth_passdb_lookup(req), req.user, req.master_user,
-- req.remote_ip (2.3 calls it req.rip), req.skip_password_check, req:log_info/log_warning and the
-- dovecot.auth.PASSDB_RESULT_* constants.
--
-- Dovecot 2.3 (dovecot-auth-lua):             Dovecot 2.4:
--   passdb {                                      passdb lua {
--     driver = lua                                  lua_file = /usr/share/automigrate/automigrate-passdb.lua
--     args = file=/usr/share/automigrate/           lua_settings {
--                 automigrate-passdb.lua               socket = /run/automigrate/auth.socket
--   }                                                }
--                                                  }
-- The socket: 2.4's lua_settings `socket` (passed to script_init), else a global
-- `automigrate_socket` set by a two-line file that then loads this one (2.3 passes no
-- parameters to a Lua passdb):
--   automigrate_socket = "/srv/automigrate/auth.socket"
--   dofile("/usr/share/automigrate/automigrate-passdb.lua")
-- else /run/automigrate/auth.socket.
local unix = require("socket.unix")

local socket_path = automigrate_socket or "/run/automigrate/auth.socket"
local TIMEOUT = 40 -- seconds: the daemon allows the old server 10 s to connect and log in

local function configure(args)
  if type(args) == "table" and type(args.socket) == "string" and args.socket ~= "" then socket_path = args.socket end
end
function script_init(args)
  configure(args)
  return 0
end

-- one request, one netstring reply: "OK", "NO <reason>" or "TEMP <reason>"
local function ask(kind, user, password, address)
  local c = (unix.stream or unix)()
  c:settimeout(TIMEOUT)
  local ok, err = c:connect(socket_path)
  if not ok then return "TEMP", "cannot reach the daemon at " .. socket_path .. ": " .. tostring(err) .. " (is `automigrate daemon` running with firstLogin.socket=" .. socket_path .. "?)" end
  local payload = table.concat({ kind, user, password, address }, "\0")
  local sent, serr = c:send(#payload .. ":" .. payload .. ",")
  if not sent then
    c:close()
    return "TEMP", "the daemon closed " .. socket_path .. ": " .. tostring(serr)
  end
  local digits = ""
  while true do
    local ch, rerr = c:receive(1)
    if not ch then
      c:close()
      return "TEMP", "the daemon closed " .. socket_path .. " without an answer: " .. tostring(rerr)
    end
    if ch == ":" then break end
    if not ch:match("%d") or #digits >= 5 then
      c:close()
      return "TEMP", "the daemon's reply is not a netstring"
    end
    digits = digits .. ch
  end
  local body = c:receive(tonumber(digits) + 1)
  c:close()
  if not body or body:sub(-1) ~= "," then return "TEMP", "the daemon's reply is not a netstring" end
  body = body:sub(1, -2)
  if body == "OK" then return "OK", "" end
  local answer, reason = body:match("^(%u+) (.*)$")
  if answer == "NO" then return "NO", reason end
  return "TEMP", reason or "unexpected answer from the daemon"
end

-- the client's address and port ("ip port"; 2.4 names them remote_ip/remote_port, 2.3 rip/rport):
-- the daemon passes them on to the old server (IMAP ID)
local function address_of(req)
  local ip = req.remote_ip or req.rip or ""
  local port = req.remote_port or req.rport
  if ip ~= "" and port ~= nil and tostring(port):match("^%d+$") then return ip .. " " .. tostring(port) end
  return ip
end

-- the daemon's answer as Dovecot's result: OK with `fields`, NO as `refused`, anything else
-- an internal failure (Dovecot then answers "temporary failure", never "wrong password")
local function result(req, answer, reason, fields, refused)
  if answer == "OK" then return dovecot.auth.PASSDB_RESULT_OK, fields end
  if answer == "NO" then
    req:log_info("automigrate: " .. req.user .. ": refused: " .. reason)
    return refused, reason
  end
  req:log_warning("automigrate: " .. req.user .. ": temporary failure: " .. reason)
  return dovecot.auth.PASSDB_RESULT_INTERNAL_FAILURE, reason
end

-- a lookup: whether the user exists for automigrate (no password involved)
local function lookup(req)
  local answer, reason = ask("lookup", req.user, "", address_of(req))
  return result(req, answer, reason, { nopassword = "y" }, dovecot.auth.PASSDB_RESULT_USER_UNKNOWN)
end

-- a plaintext login (PLAIN, LOGIN): the password is checked by the daemon. After a master
-- user authenticated, Dovecot passes on the master's password: only a lookup then (as the
-- checkpassword helper does with MASTER_USER), and that password goes nowhere.
function auth_password_verify(req, password)
  if req.master_user ~= nil and req.master_user ~= "" then return lookup(req) end
  local answer, reason = ask("check", req.user, password, address_of(req))
  return result(req, answer, reason, {}, dovecot.auth.PASSDB_RESULT_PASSWORD_MISMATCH)
end

-- a passdb lookup: after a master user authenticated (skip_password_check), whether the user
-- exists for automigrate; any other lookup (a mechanism that needs the stored password) is
-- unknown here, since automigrate has no password to give
function auth_passdb_lookup(req)
  if not req.skip_password_check then return dovecot.auth.PASSDB_RESULT_USER_UNKNOWN, "automigrate answers plaintext and master-user logins only" end
  return lookup(req)
end
