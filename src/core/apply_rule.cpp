#include "core/apply_rule.hpp"

namespace js::core {

bool
ClearlyBetter(const PredictedChange &c)
{
	if (c.group_after != c.group_before)
		return c.group_after < c.group_before;
	if (c.peak_after != c.peak_before)
		return c.peak_after < c.peak_before;
	/* after <= before * (1 - cut): in integers, without overflow for any realistic count */
	return c.overlap_before > 0 && c.overlap_after * 100 <= c.overlap_before * (100 - kMinOverlapCutPercent);
}

} // namespace js::core
