-- factorio-sim: LuaObject classes. Every object is an empty proxy table whose metatable looks up
-- getters, setters and methods of its class; its state lives in STATE[proxy]. Reading or writing
-- anything a class does not define raises "factorio-sim does not emulate <Class>.<key>", so a mod
-- using an API the sim lacks fails loudly instead of silently misbehaving.
--
-- Every class is also recorded in a registry (members, their kind, parameter names) that
-- `factorio-sim --dump-api` writes out, so tests/api can hold it against the real API.

local W = {}

local STATE = setmetatable({}, { __mode = "k" })
W.STATE = STATE
W.registry = {}

local function unemulated(what)
  error("factorio-sim does not emulate " .. what, 3)
end
W.unemulated = unemulated

--- Parameter names of a sim method (after its state and proxy arguments).
local function params_of(f)
  local info = debug.getinfo(f, "u")
  local out = {}
  for i = 3, info.nparams do out[#out + 1] = debug.getlocal(f, i) end
  if info.isvararg then out[#out + 1] = "..." end
  return out
end

local function register(name, getters, setters, methods, extra)
  local r = W.registry[name] or { members = {} }
  W.registry[name] = r
  local m = r.members
  for k in pairs(getters) do m[k] = { kind = "attribute", read = true, write = setters[k] ~= nil } end
  for k in pairs(setters) do
    m[k] = m[k] or { kind = "attribute", read = false }
    m[k].write = true
  end
  for k, f in pairs(methods) do m[k] = { kind = "method", params = params_of(f) } end
  m.object_name = { kind = "attribute", read = true, write = false }
  if not extra.no_valid then m.valid = { kind = "attribute", read = true, write = false } end
  r.index = r.index or extra.index_get ~= nil
  r.length = r.length or extra.len ~= nil
end

local function invalid(name)
  error("LuaObject API call when " .. name .. " was invalid.", 3)
end

--- Makes a class; returns a constructor taking the object's state. `extra` may give index_get,
--- index_set (integer keys), key_get (other keys no member matches), len (`#`), and no_valid
--- for classes without a `valid` attribute.
function W.class(name, getters, setters, methods, extra)
  extra = extra or {}
  register(name, getters, setters, methods, extra)
  local mt = { __metatable = name }
  mt.__index = function(p, k)
    local st = STATE[p]
    if k == "valid" and not extra.no_valid then return st.valid ~= false end
    if k == "object_name" then return name end
    if st.valid == false then invalid(name) end
    if type(k) == "number" and extra.index_get then return extra.index_get(st, k) end
    local g = getters[k]
    if g then return g(st, p) end
    local m = methods[k]
    if m then
      local bound = function(...)
        if st.valid == false then invalid(name) end
        return m(st, p, ...)
      end
      rawset(p, k, bound)
      return bound
    end
    if extra.key_get then return extra.key_get(st, k) end
    unemulated(name .. "." .. tostring(k))
  end
  mt.__newindex = function(p, k, v)
    local st = STATE[p]
    if st.valid == false then invalid(name) end
    if type(k) == "number" and extra.index_set then return extra.index_set(st, k, v) end
    local s = setters[k]
    if not s then
      if getters[k] or methods[k] then error(name .. "." .. tostring(k) .. " is read only.", 2) end
      unemulated("writing " .. name .. "." .. tostring(k))
    end
    s(st, p, v)
  end
  if extra.len then mt.__len = function(p) return extra.len(STATE[p]) end end
  return function(st)
    local p = setmetatable({}, mt)
    STATE[p] = st
    return p
  end
end

--- The class name of a LuaObject, or nil for anything else.
function W.class_of(v)
  if type(v) ~= "table" or not STATE[v] then return nil end
  return getmetatable(v)
end

--- Raises the error the game raises for a value outside a 32-bit signed integer.
function W.int32(v, what)
  if type(v) ~= "number" or v ~= math.floor(v) or v < -2147483648 or v > 2147483647 then
    error(what .. ": " .. tostring(v) .. " is not a 32-bit signed integer", 4)
  end
  return v
end

--- A copy of a plain table, nested tables copied too: what the game hands out when a mod reads a
--- table-valued property, so that changing it changes nothing in the object.
function W.copy(t)
  if type(t) ~= "table" then return t end
  local out = {}
  for k, v in pairs(t) do out[k] = W.copy(v) end
  return out
end

return W
