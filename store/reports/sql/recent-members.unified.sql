-- Phase F report 2 (unified): recent member data with memberMaxRating, every given member, most recently active first.
--   $1 bigint[]  member ids
--   $2 text[]    signatures of writers that recompute ratings (rerates): a member they rated is not compared with legacy
SELECT m."userId", m.handle, x.rating AS "maxRating", x.track, x."subTrack", x."ratingColor", h.last AS "lastEventDate",
       COALESCE(h.rerated, false)
         OR EXISTS (SELECT 1 FROM members."memberStats" s WHERE s."userId" = m."userId" AND s."updatedBy" = ANY($2::text[])) AS recomputed
FROM members."member" m
LEFT JOIN members."memberMaxRating" x ON x."userId" = m."userId"
LEFT JOIN LATERAL (
  SELECT max(y."eventDate") AS last,
         bool_or(y."createdBy" = ANY($2::text[]) OR COALESCE(y."updatedBy" = ANY($2::text[]), false)) AS rerated
  FROM members."memberStatsHistory" y
  WHERE y."userId" = m."userId"
) h ON true
WHERE m."userId" = ANY($1::bigint[])
ORDER BY h.last DESC NULLS LAST, m."userId"
