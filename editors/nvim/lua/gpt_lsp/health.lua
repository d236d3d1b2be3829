-- :checkhealth gpt_lsp: is the server there, which version, is a relay configured?
local M = {}

local ENV_URLS = { "GPT_LSP_BASE_URL", "OPENAI_BASE_URL" }

-- The server's config file, as the server finds it (GPT_LSP_CONFIG, else the XDG config dir).
local function config_file()
  local named = vim.env.GPT_LSP_CONFIG
  if named and named ~= "" then
    return named
  end
  local base = vim.env.XDG_CONFIG_HOME
  if not base or base == "" then
    base = vim.fs.joinpath(vim.env.HOME or "~", ".config")
  end
  return vim.fs.joinpath(base, "gpt-lsp", "config.toml")
end

-- Where a relay comes from, or nil: setup() settings, the environment, the config file.
local function relay_source(settings)
  if settings.baseUrl or (type(settings.relays) == "table" and next(settings.relays)) then
    return "setup() settings"
  end
  for _, name in ipairs(ENV_URLS) do
    if vim.env[name] and vim.env[name] ~= "" then
      return "$" .. name
    end
  end
  local path = config_file()
  if vim.fn.filereadable(path) == 1 then
    -- A light check; the server validates the file itself when it starts.
    for _, line in ipairs(vim.fn.readfile(path)) do
      if line:match("^%s*baseUrl%s*=") then
        return path
      end
    end
  end
  return nil
end

function M.check()
  local health = vim.health
  health.start("gpt-lsp")
  local gpt = require("gpt_lsp")
  local options = gpt.options or {}
  local cmd = options.cmd or { "gpt-lsp" }
  if type(cmd) ~= "table" then
    health.info("cmd is a function: the executable is not checked")
  else
    local exe = vim.fn.exepath(cmd[1])
    if exe == "" then
      health.error("`" .. cmd[1] .. "` not found", {
        "in your checkout of gpt-lsp: pipx install . (it is not on PyPI yet)",
        'or name it in setup({ cmd = { "/path/to/gpt-lsp" } })',
      })
      return
    end
    health.ok("executable: " .. exe)
    -- `--version` after the configured arguments: argparse prints it and exits at once.
    local argv = vim.list_extend(vim.deepcopy(cmd), { "--version" })
    local ok, res = pcall(function()
      return vim.system(argv, { text = true, env = options.cmd_env }):wait(15000)
    end)
    if ok and res.code == 0 then
      health.ok("version: " .. vim.trim(res.stdout ~= "" and res.stdout or res.stderr))
    else
      local why = ok and ((res.stderr or "") .. " (exit " .. tostring(res.code) .. ")") or tostring(res)
      health.error("`" .. table.concat(argv, " ") .. "` failed: " .. vim.trim(why))
    end
  end

  local source = relay_source(options.settings or {})
  if source then
    health.ok("relay configured in " .. source .. " (`gpt-lsp check` sends one test request)")
  else
    health.warn("no relay configured", {
      "set settings.baseUrl (and apiKey) in setup()",
      "or export GPT_LSP_BASE_URL / OPENAI_BASE_URL",
      "or write baseUrl in " .. config_file(),
    })
  end

  local clients = vim.lsp.get_clients({ name = "gpt_lsp" })
  if #clients == 0 then
    health.info("no gpt-lsp client running (it starts with a buffer of a configured filetype)")
  end
  for _, client in ipairs(clients) do
    health.info(("client %d: %d buffer(s), position encoding %s"):format(
      client.id, vim.tbl_count(client.attached_buffers), client.offset_encoding))
  end
end

return M
