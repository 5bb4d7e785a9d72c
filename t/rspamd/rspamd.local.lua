-- Symbols that fire on the test's marker field, to reach each action.
local function marker(value, score)
  return {
    callback = function(task)
      local h = task:get_header('X-Noqueue-Test')
      return h ~= nil and h == value
    end,
    score = score,
    description = 'noqueue test marker ' .. value,
    group = 'noqueue-test',
  }
end
rspamd_config.NOQUEUE_GREYLIST = marker('greylist', 40.0)
rspamd_config.NOQUEUE_ADD_HEADER = marker('add-header', 70.0)
rspamd_config.NOQUEUE_REWRITE_SUBJECT = marker('rewrite-subject', 100.0)

-- soft reject has no threshold: a prefilter sets it, with a text.
rspamd_config:register_symbol({
  name = 'NOQUEUE_SOFT_REJECT',
  type = 'prefilter',
  priority = 10,
  callback = function(task)
    if task:get_header('X-Noqueue-Test') == 'soft-reject' then
      task:set_pre_result('soft reject', 'Noqueue test says later')
    end
  end,
})

-- What rspamd got of the envelope, as the options of one symbol (seen in
-- X-Spamd-Result): the request fields of smtp-rspamd.
rspamd_config:register_symbol({
  name = 'NOQUEUE_ENVELOPE',
  score = 0.0,
  group = 'noqueue-test',
  callback = function(task)
    local ip = task:get_from_ip()
    local mta = task:get_request_header('MTA-Name')
    local tls = task:get_request_header('TLS-Version')
    local cipher = task:get_request_header('TLS-Cipher')
    task:insert_result('NOQUEUE_ENVELOPE', 1.0, {
      'ip=' .. ((ip and ip:is_valid()) and ip:to_string() or '-'),
      'helo=' .. (task:get_helo() or '-'),
      'host=' .. (task:get_hostname() or '-'),
      'qid=' .. (task:get_queue_id() or '-'),
      'mta=' .. (mta and tostring(mta) or '-'),
      'settings=' .. (task:get_settings_id() and 'yes' or '-'),
      'tls=' .. (tls and tostring(tls) or '-'),
      'cipher=' .. (cipher and tostring(cipher) or '-'),
    })
  end,
})
