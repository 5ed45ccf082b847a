-- Map settings: which items and fluids may cross between worlds.
data:extend({
  {
    type = "string-setting",
    name = "clusterio-filter-mode",
    setting_type = "runtime-global",
    default_value = "none",
    allowed_values = { "none", "blacklist", "whitelist" },
    order = "a",
  },
  {
    -- Item and fluid names separated by commas or spaces.
    type = "string-setting",
    name = "clusterio-filter-list",
    setting_type = "runtime-global",
    default_value = "",
    allow_blank = true,
    order = "b",
  },
})
