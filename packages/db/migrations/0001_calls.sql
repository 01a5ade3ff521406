CREATE TABLE "call_events_applied" (
	"event_id" text PRIMARY KEY NOT NULL,
	"call_id" text NOT NULL,
	"applied_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "call_records" (
	"call_id" text PRIMARY KEY NOT NULL,
	"from_uri" text,
	"to_uri" text,
	"from_key" text,
	"to_key" text,
	"started_at" timestamp with time zone NOT NULL,
	"start_known" boolean DEFAULT false NOT NULL,
	"answered_at" timestamp with time zone,
	"ended_at" timestamp with time zone,
	"duration_ms" bigint,
	"status" integer,
	"end_reason" text,
	"failed_at" timestamp with time zone,
	"failed_status" integer,
	"failed_reason" text,
	"bye_at" timestamp with time zone,
	"bye_reason" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "call_records_call_id_length" CHECK (char_length("call_records"."call_id") between 1 and 1024),
	CONSTRAINT "call_records_status_range" CHECK ("call_records"."status" between 100 and 699),
	CONSTRAINT "call_records_duration_positive" CHECK ("call_records"."duration_ms" >= 0)
);
--> statement-breakpoint
CREATE TABLE "call_forwarding" (
	"subscriber_id" uuid PRIMARY KEY NOT NULL,
	"always" text,
	"busy" text,
	"no_answer_target" text,
	"no_answer_after_seconds" integer,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "call_forwarding_no_answer_pair" CHECK (("call_forwarding"."no_answer_target" is null) = ("call_forwarding"."no_answer_after_seconds" is null)),
	CONSTRAINT "call_forwarding_no_answer_after" CHECK ("call_forwarding"."no_answer_after_seconds" between 1 and 3600),
	CONSTRAINT "call_forwarding_always_length" CHECK (char_length("call_forwarding"."always") between 1 and 2048),
	CONSTRAINT "call_forwarding_busy_length" CHECK (char_length("call_forwarding"."busy") between 1 and 2048),
	CONSTRAINT "call_forwarding_no_answer_length" CHECK (char_length("call_forwarding"."no_answer_target") between 1 and 2048)
);
--> statement-breakpoint
ALTER TABLE "call_events_applied" ADD CONSTRAINT "call_events_applied_call_id_call_records_call_id_fk" FOREIGN KEY ("call_id") REFERENCES "public"."call_records"("call_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "call_forwarding" ADD CONSTRAINT "call_forwarding_subscriber_id_subscribers_id_fk" FOREIGN KEY ("subscriber_id") REFERENCES "public"."subscribers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "call_events_applied_call_idx" ON "call_events_applied" USING btree ("call_id");--> statement-breakpoint
CREATE INDEX "call_events_applied_at_idx" ON "call_events_applied" USING btree ("applied_at");--> statement-breakpoint
CREATE INDEX "call_records_started_idx" ON "call_records" USING btree ("started_at" DESC NULLS LAST,"call_id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "call_records_from_idx" ON "call_records" USING btree ("from_key","started_at" DESC NULLS LAST,"call_id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "call_records_to_idx" ON "call_records" USING btree ("to_key","started_at" DESC NULLS LAST,"call_id" DESC NULLS LAST);