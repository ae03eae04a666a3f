package tags

// Default tags every network resource carries.
func Default() map[string]string { return map[string]string{"team": "platform"} }
