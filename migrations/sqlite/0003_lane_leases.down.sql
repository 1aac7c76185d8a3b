DROP TABLE IF EXISTS lp_lane_leases;
