-- (e) CJK and emoji under Neovim's utf-8 encoding: charwise ranges after multi-byte text
-- on the same and previous lines, and one ending on a multi-byte character; the cursor's
-- position after multi-byte text picks the job whose region holds it.
local H = dofile(vim.fs.dirname(_G.arg[0]) .. "/harness.lua")

H.run(function()
  H.stub_ui()
  H.setup()
  local bufnr = H.open("cjk.py", H.cfg.source)

  -- Select `compute(a, b)` on line 3, after `名字 = "😀"; z = `.
  vim.cmd("normal! 3G0fcvf)\27")
  vim.cmd("'<,'>GptChat " .. H.cfg.instruction)
  local first = H.wait_job(1)
  H.wait_finished(bufnr, first)
  H.result.first = { status = first.status, text = H.text(bufnr) }

  -- Select `数据` inside the quotes on line 2: the selection ends on a 3-byte character.
  vim.cmd('normal! 2G0f"lvl\27')
  vim.cmd("'<,'>GptChat " .. H.cfg.instruction)
  local second = H.wait_job(2)
  H.wait_finished(bufnr, second)
  H.result.second = { status = second.status, text = H.text(bufnr) }

  -- The cursor on `算`, inside the first (older) job's answer on line 3: only the byte
  -- offset puts it there; a character or UTF-16 count would fall before the region.
  local line3 = vim.api.nvim_buf_get_lines(bufnr, 2, 3, false)[1]
  vim.api.nvim_win_set_cursor(0, { 3, line3:find("算", 1, true) - 1 })
  vim.cmd("GptReject")
  H.result.reject_first = H.wait_command("gptLsp.reject")
  H.wait(5000, function() return H.text(bufnr) == H.cfg.after_first_reject end, "line 3 back")
  H.result.rejected_first = H.text(bufnr)

  vim.api.nvim_win_set_cursor(0, { 2, 6 })
  vim.cmd("GptReject")
  H.wait(5000, function() return H.text(bufnr) == H.cfg.source end, "the original back")
  H.result.rejected = H.text(bufnr)
end)
