/** Status: the usage of every policy, writing nothing. Reply: now, then used, reserved, reset per policy. */
import { BASE_LUA } from './base.lua';

export const STATUS_SCRIPT = `${BASE_LUA}
return appendUsage({ now }, viewPolicies({ reserve = false, tokens = 0 }), false, {})
`;
