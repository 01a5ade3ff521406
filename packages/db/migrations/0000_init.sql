CREATE TABLE "domains" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "domains_name_unique" UNIQUE("name"),
	CONSTRAINT "domains_name_lower_case" CHECK ("domains"."name" = lower("domains"."name")),
	CONSTRAINT "domains_name_length" CHECK (char_length("domains"."name") between 1 and 253)
);
--> statement-breakpoint
CREATE TABLE "subscribers" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"domain_id" uuid NOT NULL,
	"username" text NOT NULL,
	"display_name" text,
	"enabled" boolean DEFAULT true NOT NULL,
	"ha1_md5" text NOT NULL,
	"ha1_sha256" text NOT NULL,
	"ha1_sha512_256" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "subscribers_domain_username_unique" UNIQUE("domain_id","username"),
	CONSTRAINT "subscribers_username_length" CHECK (char_length("subscribers"."username") between 1 and 128),
	CONSTRAINT "subscribers_ha1_md5_hex" CHECK ("subscribers"."ha1_md5" ~ '^[0-9a-f]{32}$'),
	CONSTRAINT "subscribers_ha1_sha256_hex" CHECK ("subscribers"."ha1_sha256" ~ '^[0-9a-f]{64}$'),
	CONSTRAINT "subscribers_ha1_sha512_256_hex" CHECK ("subscribers"."ha1_sha512_256" ~ '^[0-9a-f]{64}$')
);
--> statement-breakpoint
ALTER TABLE "subscribers" ADD CONSTRAINT "subscribers_domain_id_domains_id_fk" FOREIGN KEY ("domain_id") REFERENCES "public"."domains"("id") ON DELETE restrict ON UPDATE no action;